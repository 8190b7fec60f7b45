import { ShoalError } from "@shoal/errors";
import type { ShoalErrorOptions } from "@shoal/errors";

/**
 * Every way talking to a tracker can fail. Callers branch on `code` and `retryable`:
 * - FAILURE: the tracker answered with a `failure reason` (HTTP) or an error action (UDP).
 *   It made a decision about us, so asking again right away would get the same answer.
 * - BAD_RESPONSE: the answer is not a valid tracker response (bad bencode, wrong field type,
 *   wrong UDP action). The tracker is broken; retrying soon rarely helps.
 * - TIMEOUT: no (complete) answer in time. Packet loss and busy trackers make this transient.
 * - HTTP_STATUS: an HTTP status other than 200; retryable for 5xx and 429 only.
 * - TOO_LARGE: the answer exceeds the response byte limit.
 * - TOO_MANY_REDIRECTS: more HTTP redirects than allowed, usually a loop.
 * - UNSUPPORTED_SCHEME: a tracker or redirect URL we cannot speak (wss:, ftp:, ...).
 * - INVALID_URL: a tracker URL that cannot be parsed (it comes from a torrent, so from outside).
 * - INVALID_ARGUMENT: a caller passed bad parameters (a bug on our side, never retryable).
 * - NETWORK: DNS, connection refused or reset, socket errors.
 * - ABORTED: the caller cancelled the request.
 */
export type TrackerErrorCode =
  | "FAILURE"
  | "BAD_RESPONSE"
  | "TIMEOUT"
  | "HTTP_STATUS"
  | "TOO_LARGE"
  | "TOO_MANY_REDIRECTS"
  | "UNSUPPORTED_SCHEME"
  | "INVALID_URL"
  | "INVALID_ARGUMENT"
  | "NETWORK"
  | "ABORTED";

/** The default `retryable` of each code; `HTTP_STATUS` is decided per status by its thrower. */
const RETRYABLE_BY_CODE: Readonly<Record<TrackerErrorCode, boolean>> = {
  FAILURE: false,
  BAD_RESPONSE: false,
  TIMEOUT: true,
  HTTP_STATUS: false,
  TOO_LARGE: false,
  TOO_MANY_REDIRECTS: false,
  UNSUPPORTED_SCHEME: false,
  INVALID_URL: false,
  INVALID_ARGUMENT: false,
  NETWORK: true,
  ABORTED: false,
};

export class TrackerError extends ShoalError<TrackerErrorCode> {
  static override readonly name = "TrackerError";

  constructor(code: TrackerErrorCode, message: string, options: ShoalErrorOptions = {}) {
    super(code, message, { ...options, retryable: options.retryable ?? RETRYABLE_BY_CODE[code] });
  }
}

/** True when `err` is a TrackerError with the given code (a narrowing helper for callers). */
export function isTrackerError(err: unknown, code?: TrackerErrorCode): err is TrackerError {
  return err instanceof TrackerError && (code === undefined || err.code === code);
}
