import type { TorrentSource } from "@shoal/coordination";
import { systemClock } from "@shoal/service-kit";
import { TrackerError } from "@shoal/tracker-proto";
import { limitedGet } from "../trackers/index.js";
import { PollerError } from "../poller-error.js";

/** Seconds to fetch a .torrent from a URL. */
const FETCH_TIMEOUT_MS = 30_000;
/** Redirects followed when fetching a .torrent (web servers and CDNs redirect). */
const FETCH_MAX_REDIRECTS = 5;

/** The raw bytes of a job's .torrent: inline, or fetched from an http(s) URL with a size cap. */
export async function resolveSource(
  source: Exclude<TorrentSource, { kind: "magnet" }>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (source.kind === "torrent") return Buffer.from(source.base64, "base64");
  try {
    return await limitedGet(source.url, {
      maxBytes,
      timeoutMs: FETCH_TIMEOUT_MS,
      maxRedirects: FETCH_MAX_REDIRECTS,
      clock: systemClock,
      userAgent: "shoal/0.1",
      signal,
    });
  } catch (err) {
    if (!(err instanceof TrackerError)) throw err;
    throw new PollerError("FETCH_FAILED", `cannot download the .torrent from ${source.url}: ${describe(err)}`, {
      context: { url: source.url, reason: err.code },
      retryable: err.retryable,
      cause: err,
    });
  }
}

/** The reason in words, from the error's code and facts (not its tracker-worded message). */
function describe(err: TrackerError): string {
  const status = err.context["status"];
  switch (err.code) {
    case "HTTP_STATUS":
      return `the server answered HTTP ${String(status)}`;
    case "TOO_LARGE":
      return "it is larger than a torrent file may be";
    case "TOO_MANY_REDIRECTS":
      return "too many redirects";
    case "TIMEOUT":
      return "no answer in time";
    case "NETWORK":
      return err.cause instanceof Error ? err.cause.message : "network error";
    default:
      return err.code.toLowerCase().replace(/_/g, " ");
  }
}
