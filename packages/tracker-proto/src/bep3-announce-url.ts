import { byteCountOf, checkAnnounceParams } from "./announce-params.js";
import { percentEncodeBytes, percentEncodeText } from "./percent-encoding.js";
import { TrackerError } from "./tracker-error.js";
import type { AnnounceParams } from "./types.js";

/** Returns "http" or "https" for an HTTP tracker URL, else throws (UNSUPPORTED_SCHEME or INVALID_URL). */
export function httpSchemeOf(url: string): "http" | "https" {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/?#]+/.exec(url);
  if (!match) {
    throw new TrackerError("INVALID_URL", `tracker URL "${url}" has no scheme and host`, { context: { url } });
  }
  const scheme = match[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https") {
    throw new TrackerError("UNSUPPORTED_SCHEME", `tracker URL "${url}" uses ${scheme}:, expected http: or https:`, {
      context: { url, scheme },
    });
  }
  return scheme;
}

/**
 * Appends query parameters to a URL, keeping a query it already has (private trackers put the
 * passkey there) and dropping a fragment, which is never sent to a server.
 */
export function appendQuery(url: string, query: string): string {
  const hash = url.indexOf("#");
  const base = hash >= 0 ? url.slice(0, hash) : url;
  if (query === "") return base;
  if (!base.includes("?")) return `${base}?${query}`;
  return base.endsWith("?") || base.endsWith("&") ? base + query : `${base}&${query}`;
}

/**
 * Builds the GET URL of an HTTP announce (BEP 3, compact per BEP 23). Binary values are
 * percent-encoded byte by byte; no `event` parameter is sent for a regular re-announce.
 */
export function buildAnnounceUrl(announceUrl: string, params: AnnounceParams): string {
  httpSchemeOf(announceUrl);
  checkAnnounceParams(params);
  const parts = [
    `info_hash=${percentEncodeBytes(params.infoHash)}`,
    `peer_id=${percentEncodeBytes(params.peerId)}`,
    `port=${params.port}`,
    `uploaded=${byteCountOf("uploaded", params.uploaded)}`,
    `downloaded=${byteCountOf("downloaded", params.downloaded)}`,
    `left=${byteCountOf("left", params.left)}`,
    `compact=${params.compact === false ? 0 : 1}`,
  ];
  if (params.event !== undefined) parts.push(`event=${params.event}`);
  if (params.numwant !== undefined) parts.push(`numwant=${params.numwant}`);
  if (params.key !== undefined) parts.push(`key=${percentEncodeText(params.key)}`);
  if (params.trackerId !== undefined) parts.push(`trackerid=${percentEncodeBytes(params.trackerId)}`);
  if (params.ip !== undefined) parts.push(`ip=${percentEncodeText(params.ip)}`);
  return appendQuery(announceUrl, parts.join("&"));
}
