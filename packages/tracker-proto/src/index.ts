export { TrackerError, isTrackerError } from "./tracker-error.js";
export type { TrackerErrorCode } from "./tracker-error.js";
export type {
  AnnounceEvent,
  AnnounceParams,
  AnnounceResult,
  ByteCount,
  Peer,
  ScrapeResult,
  ScrapeStats,
} from "./types.js";
export { INFO_HASH_BYTES, PEER_ID_BYTES, checkAnnounceParams } from "./announce-params.js";
export {
  ANNOUNCE_INTERVAL_DEFAULT_S,
  ANNOUNCE_INTERVAL_MAX_S,
  ANNOUNCE_INTERVAL_MIN_S,
  ANNOUNCE_MIN_INTERVAL_DEFAULT_S,
  clampIntervalS,
  clampIntervals,
} from "./announce-interval.js";
export { percentEncodeBytes, percentEncodeText } from "./percent-encoding.js";
export { canonicalIp } from "./ip-address.js";
export { TRACKER_RESPONSE_MAX_BYTES, TRACKER_TEXT_MAX_CHARS } from "./response-fields.js";
export { appendQuery, buildAnnounceUrl, httpSchemeOf } from "./bep3-announce-url.js";
export { ANNOUNCE_MAX_PEERS, parseAnnounceResponse } from "./bep3-announce-response.js";
export type { AnnounceResponseLimits } from "./bep3-announce-response.js";
export {
  COMPACT_PEER6_BYTES,
  COMPACT_PEER_BYTES,
  compactPeerEntries,
  decodeCompactPeers,
  encodeCompactPeers,
} from "./bep23-compact-peers.js";
export { SCRAPE_MAX_FILES, buildScrapeUrl, parseScrapeResponse, scrapeUrlOf } from "./bep48-scrape.js";
export type { ScrapeResponseLimits } from "./bep48-scrape.js";
export {
  CONNECTION_ID_TTL_MS,
  UDP_MAX_ATTEMPTS,
  UDP_PROTOCOL_ID,
  UDP_RETRANSMIT_BASE_MS,
  UDP_SCRAPE_MAX_HASHES,
  UdpAction,
  decodeConnectResponse,
  decodeUdpAnnounceResponse,
  decodeUdpScrapeResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
  readUdpResponseHeader,
  udpRetransmitTimeoutMs,
} from "./bep15-udp-tracker.js";
export type { UdpAnnounceRequest, UdpResponseHeader, UdpScrapeRequest } from "./bep15-udp-tracker.js";
export { parseUdpTrackerUrl } from "./bep15-udp-url.js";
export type { UdpTrackerAddress } from "./bep15-udp-url.js";
export { URL_DATA_CHUNK_BYTES, URL_DATA_MAX_BYTES, UdpOption, decodeUrlDataOptions, encodeUrlDataOptions } from "./bep41-url-data.js";
export { SUPPORTED_TRACKER_SCHEMES, TrackerTiers } from "./bep12-tracker-tiers.js";
export type { IgnoredTracker, RandomFn } from "./bep12-tracker-tiers.js";
export {
  ANNOUNCE_BACKOFF_BASE_MS,
  ANNOUNCE_BACKOFF_MAX_MS,
  ANNOUNCE_REFUSED_MIN_DELAY_MS,
  afterAnnounceFailure,
  afterAnnounceSuccess,
  backoffDelayMs,
  earliestExtraAnnounceAtMs,
  initialReannounceState,
} from "./reannounce-policy.js";
export type { ReannounceState } from "./reannounce-policy.js";
