import { clampIntervals } from "./announce-interval.js";
import { byteCountOf, checkAnnounceParams, INFO_HASH_BYTES } from "./announce-params.js";
import { decodeCompactPeers } from "./bep23-compact-peers.js";
import { encodeUrlDataOptions } from "./bep41-url-data.js";
import { ipv4ToUint32 } from "./ip-address.js";
import { trackerText } from "./response-fields.js";
import { TrackerError } from "./tracker-error.js";
import type { AnnounceEvent, AnnounceParams, AnnounceResult, ScrapeResult, ScrapeStats } from "./types.js";

/** The magic constant that opens every connect request (BEP 15). */
export const UDP_PROTOCOL_ID = 0x41727101980n;
export const UdpAction = { CONNECT: 0, ANNOUNCE: 1, SCRAPE: 2, ERROR: 3 } as const;
export type UdpAction = (typeof UdpAction)[keyof typeof UdpAction];
/** BEP 15 event codes; 0 is a regular re-announce. */
const UDP_EVENT_CODE: Readonly<Record<AnnounceEvent | "none", number>> = { none: 0, completed: 1, started: 2, stopped: 3 };

/** BEP 15 retransmits with n = 0..8, so a request is sent at most 9 times. */
export const UDP_MAX_ATTEMPTS = 9;
/** BEP 15's retransmit base: wait 15 * 2^n seconds for an answer to attempt n. */
export const UDP_RETRANSMIT_BASE_MS = 15_000;
/** A connection id may be used for one minute after it was received (BEP 15). */
export const CONNECTION_ID_TTL_MS = 60_000;
/** 74 info hashes fill a scrape request to the size trackers accept (BEP 15). */
export const UDP_SCRAPE_MAX_HASHES = 74;

const CONNECT_REQUEST_BYTES = 16;
const CONNECT_RESPONSE_BYTES = 16;
const ANNOUNCE_REQUEST_BYTES = 98;
const ANNOUNCE_RESPONSE_HEADER_BYTES = 20;
const SCRAPE_REQUEST_HEADER_BYTES = 16;
const SCRAPE_RESPONSE_HEADER_BYTES = 8;
const SCRAPE_ENTRY_BYTES = 12;
const RESPONSE_HEADER_BYTES = 8;

/** How long to wait for an answer to attempt `attempt` (0-based) before sending again. */
export function udpRetransmitTimeoutMs(attempt: number, baseMs: number = UDP_RETRANSMIT_BASE_MS): number {
  return baseMs * 2 ** attempt;
}

export interface UdpAnnounceRequest {
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly params: AnnounceParams;
  /** Path and query of the tracker URL, appended as BEP 41 URL data when not empty. */
  readonly urlData?: string;
}

export interface UdpScrapeRequest {
  readonly connectionId: bigint;
  readonly transactionId: number;
  readonly infoHashes: readonly Uint8Array[];
}

export interface UdpResponseHeader {
  readonly action: number;
  readonly transactionId: number;
}

function checkTransactionId(transactionId: number): void {
  if (!Number.isInteger(transactionId) || transactionId < 0 || transactionId > 0xffffffff) {
    throw new TrackerError("INVALID_ARGUMENT", `transaction id ${transactionId} is not an unsigned 32-bit integer`, {
      context: { transactionId },
    });
  }
}

export function encodeConnectRequest(transactionId: number): Uint8Array {
  checkTransactionId(transactionId);
  const out = new Uint8Array(CONNECT_REQUEST_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, UDP_PROTOCOL_ID);
  view.setUint32(8, UdpAction.CONNECT);
  view.setUint32(12, transactionId);
  return out;
}

export function encodeAnnounceRequest(request: UdpAnnounceRequest): Uint8Array {
  const { params } = request;
  checkTransactionId(request.transactionId);
  checkAnnounceParams(params);
  const options = request.urlData ? encodeUrlDataOptions(request.urlData) : new Uint8Array(0);
  const out = new Uint8Array(ANNOUNCE_REQUEST_BYTES + options.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, request.connectionId));
  view.setUint32(8, UdpAction.ANNOUNCE);
  view.setUint32(12, request.transactionId);
  out.set(params.infoHash, 16);
  out.set(params.peerId, 36);
  view.setBigUint64(56, byteCountOf("downloaded", params.downloaded));
  view.setBigUint64(64, byteCountOf("left", params.left));
  view.setBigUint64(72, byteCountOf("uploaded", params.uploaded));
  view.setUint32(80, UDP_EVENT_CODE[params.event ?? "none"]);
  // Only an IPv4 literal fits the field; 0 tells the tracker to use the source address.
  view.setUint32(84, params.ip === undefined ? 0 : (ipv4ToUint32(params.ip) ?? 0));
  view.setUint32(88, params.key === undefined ? 0 : parseInt(params.key, 16) >>> 0);
  // -1 asks for the tracker's default number of peers.
  view.setInt32(92, params.numwant ?? -1);
  view.setUint16(96, params.port);
  out.set(options, ANNOUNCE_REQUEST_BYTES);
  return out;
}

export function encodeScrapeRequest(request: UdpScrapeRequest): Uint8Array {
  checkTransactionId(request.transactionId);
  const count = request.infoHashes.length;
  if (count < 1 || count > UDP_SCRAPE_MAX_HASHES) {
    throw new TrackerError("INVALID_ARGUMENT", `a UDP scrape takes 1..${UDP_SCRAPE_MAX_HASHES} info hashes, got ${count}`, {
      context: { count },
    });
  }
  const out = new Uint8Array(SCRAPE_REQUEST_HEADER_BYTES + count * INFO_HASH_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, request.connectionId));
  view.setUint32(8, UdpAction.SCRAPE);
  view.setUint32(12, request.transactionId);
  request.infoHashes.forEach((hash, i) => {
    if (hash.length !== INFO_HASH_BYTES) {
      throw new TrackerError("INVALID_ARGUMENT", `info hash ${i} has ${hash.length} bytes (expected ${INFO_HASH_BYTES})`, {
        context: { index: i, length: hash.length },
      });
    }
    out.set(hash, SCRAPE_REQUEST_HEADER_BYTES + i * INFO_HASH_BYTES);
  });
  return out;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Action and transaction id of a response, or undefined for a packet too short to carry them
 * (such packets are dropped: they cannot be matched to any request).
 */
export function readUdpResponseHeader(bytes: Uint8Array): UdpResponseHeader | undefined {
  if (bytes.length < RESPONSE_HEADER_BYTES) return undefined;
  const view = viewOf(bytes);
  return { action: view.getUint32(0), transactionId: view.getUint32(4) };
}

/**
 * Checks that `bytes` answers the request with `transactionId` and `action`. An error action
 * becomes TrackerError FAILURE carrying the tracker's message; anything else is BAD_RESPONSE.
 */
function expectResponse(bytes: Uint8Array, transactionId: number, action: UdpAction, minBytes: number): DataView {
  const header = readUdpResponseHeader(bytes);
  if (!header) {
    throw new TrackerError("BAD_RESPONSE", `UDP response of ${bytes.length} bytes is shorter than its 8-byte header`, {
      context: { field: "header", bytes: bytes.length },
    });
  }
  if (header.transactionId !== transactionId) {
    throw new TrackerError("BAD_RESPONSE", `UDP response has transaction id ${header.transactionId} (expected ${transactionId})`, {
      context: { field: "transaction_id" },
    });
  }
  if (header.action === UdpAction.ERROR) {
    const reason = trackerText(bytes.subarray(RESPONSE_HEADER_BYTES));
    throw new TrackerError("FAILURE", `tracker refused the request: ${reason}`, { context: { reason } });
  }
  if (header.action !== action) {
    throw new TrackerError("BAD_RESPONSE", `UDP response has action ${header.action} (expected ${action})`, {
      context: { field: "action", action: header.action },
    });
  }
  if (bytes.length < minBytes) {
    // opentracker answers an announce for a torrent it does not serve with a bare header.
    const hint = bytes.length === RESPONSE_HEADER_BYTES ? " (a bare header: trackers send this for torrents they do not serve)" : "";
    throw new TrackerError("BAD_RESPONSE", `UDP response of ${bytes.length} bytes is shorter than ${minBytes} bytes${hint}`, {
      context: { field: "length", bytes: bytes.length },
    });
  }
  return viewOf(bytes);
}

export function decodeConnectResponse(bytes: Uint8Array, transactionId: number): { connectionId: bigint } {
  const view = expectResponse(bytes, transactionId, UdpAction.CONNECT, CONNECT_RESPONSE_BYTES);
  return { connectionId: view.getBigUint64(8) };
}

/**
 * Decodes an announce response of a UDP tracker reached over IPv4: 6-byte peers (BEP 15). A
 * stray tail shorter than one peer is ignored, port-0 and repeated peers are dropped, at most
 * `maxPeers` kept.
 */
export function decodeUdpAnnounceResponse(
  bytes: Uint8Array,
  transactionId: number,
  limits: { readonly maxPeers: number },
): AnnounceResult {
  const view = expectResponse(bytes, transactionId, UdpAction.ANNOUNCE, ANNOUNCE_RESPONSE_HEADER_BYTES);
  return {
    ...clampIntervals(view.getInt32(8), undefined),
    incomplete: view.getUint32(12),
    complete: view.getUint32(16),
    peers: decodeCompactPeers(bytes.subarray(ANNOUNCE_RESPONSE_HEADER_BYTES), 4, limits.maxPeers),
  };
}

/** Decodes a scrape response; entries are in the order of `infoHashes`, missing ones are left out. */
export function decodeUdpScrapeResponse(
  bytes: Uint8Array,
  transactionId: number,
  infoHashes: readonly Uint8Array[],
): ScrapeResult {
  const view = expectResponse(bytes, transactionId, UdpAction.SCRAPE, SCRAPE_RESPONSE_HEADER_BYTES);
  const files = new Map<string, ScrapeStats>();
  const count = Math.min(infoHashes.length, Math.floor((bytes.length - SCRAPE_RESPONSE_HEADER_BYTES) / SCRAPE_ENTRY_BYTES));
  for (let i = 0; i < count; i++) {
    const at = SCRAPE_RESPONSE_HEADER_BYTES + i * SCRAPE_ENTRY_BYTES;
    files.set(toHex(infoHashes[i]!), {
      complete: view.getUint32(at),
      downloaded: view.getUint32(at + 4),
      incomplete: view.getUint32(at + 8),
    });
  }
  return { files };
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
