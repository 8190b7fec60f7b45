import { ShoalError } from "@shoal/errors";

export const PEER_WORKER_ERROR_CODES = [
  /** A web seed answered with a status other than the one a ranged GET needs. */
  "WEB_SEED_STATUS",
  /** A 206 whose Content-Range is not the range asked for, or a 200 for a partial range. */
  "WEB_SEED_BAD_RANGE",
  /** The body ended before the range did. */
  "WEB_SEED_SHORT_BODY",
  /** The body went on past the range. */
  "WEB_SEED_LONG_BODY",
  /** Too many redirects, a redirect loop, or a redirect to something that is not http(s). */
  "WEB_SEED_REDIRECT",
  /** No byte for the idle timeout. */
  "WEB_SEED_TIMEOUT",
  /** The connection failed or was reset. */
  "WEB_SEED_NETWORK",
] as const;
export type PeerWorkerErrorCode = (typeof PEER_WORKER_ERROR_CODES)[number];

/**
 * A fault of a remote source the worker fetches from (today: web seeds). Such faults are
 * warnings: the source is backed off or dropped and the download goes on elsewhere.
 */
export class PeerWorkerError extends ShoalError<PeerWorkerErrorCode> {
  static override readonly name = "PeerWorkerError";
}
