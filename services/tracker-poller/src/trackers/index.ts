export { HttpTrackerClient, HTTP_TRACKER_MAX_REDIRECTS, HTTP_TRACKER_TIMEOUT_MS } from "./http-tracker-client.js";
export type { HttpTrackerClientOptions } from "./http-tracker-client.js";
export { UdpTrackerClient } from "./udp-tracker-client.js";
export type { UdpTrackerClientOptions } from "./udp-tracker-client.js";
export {
  ANNOUNCE_NUMWANT_DEFAULT,
  ANNOUNCE_STOP_TIMEOUT_MS,
  ANNOUNCE_TRACKER_TIMEOUT_MS,
  Announcer,
} from "./announcer.js";
export type { AnnounceStats, AnnouncerOptions } from "./announcer.js";
export type { RequestOptions, TrackerClient } from "./tracker-client.js";
export { limitedGet } from "./http-get.js";
export type { LimitedGetOptions } from "./http-get.js";
