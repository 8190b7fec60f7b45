import type { TorrentSource } from "@shoal/coordination";
import { systemClock } from "@shoal/service-kit";
import { limitedGet } from "../trackers/http-get.js";

/** Seconds to fetch a .torrent from a URL. */
const FETCH_TIMEOUT_MS = 30_000;
/** Redirects followed when fetching a .torrent (web servers and CDNs redirect). */
const FETCH_MAX_REDIRECTS = 5;

/** The raw bytes of a job's .torrent: inline, or fetched from an http(s) URL with a size cap. */
export async function resolveSource(source: TorrentSource, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  if (source.kind === "torrent") return Buffer.from(source.base64, "base64");
  return limitedGet(source.url, {
    maxBytes,
    timeoutMs: FETCH_TIMEOUT_MS,
    maxRedirects: FETCH_MAX_REDIRECTS,
    clock: systemClock,
    userAgent: "shoal/0.1",
    signal,
  });
}
