import { TrackerError } from "@shoal/tracker-proto";

/** The error a request rejects with when its signal fires: the signal's reason when it is a TrackerError. */
export function abortError(signal: AbortSignal, what: string): TrackerError {
  const reason: unknown = signal.reason;
  if (reason instanceof TrackerError) return reason;
  return new TrackerError("ABORTED", `${what} was cancelled`, { cause: reason });
}

/** Wraps anything a client threw into a TrackerError so callers deal with one error type. */
export function asTrackerError(err: unknown, url: string): TrackerError {
  if (err instanceof TrackerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TrackerError("NETWORK", `tracker ${url}: ${message}`, { cause: err, context: { url } });
}
