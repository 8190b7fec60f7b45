import { JetStreamApiError } from "@nats-io/jetstream";
import { CoordinationError } from "@shoal/coordination";

/**
 * HTTP-like status of a JetStream API error that means "not now" rather than "never": the server
 * answered, but JetStream is recovering or has no leader (after a restart, in a cluster election).
 */
const API_STATUS_UNAVAILABLE = 503;

/**
 * Maps an error of the NATS client to the port's error. Every failure to reach the server or to
 * get an answer in time (closed or lost connection, timeouts, no responders, JetStream not
 * ready) is BACKEND_UNAVAILABLE, retryable: it says nothing about the request itself. A refusal
 * the server answered with (a config it will not take) is INVARIANT_BROKEN, not retryable: the
 * same request fails again until the config changes. Branches on classes and codes only.
 */
export function toCoordinationError(err: unknown, op: string, what: string): CoordinationError {
  if (err instanceof CoordinationError) return err;
  if (err instanceof JetStreamApiError && err.status !== API_STATUS_UNAVAILABLE) {
    const api = err.apiError();
    return new CoordinationError("INVARIANT_BROKEN", `${what}: NATS refused it: ${api.description} (JetStream error ${api.err_code})`, {
      context: { op, apiCode: api.err_code, status: err.status },
      cause: err,
    });
  }
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return unavailable(op, `${what}: NATS is unavailable (${reason})`, err);
}

export function unavailable(op: string, message: string, cause?: unknown): CoordinationError {
  return new CoordinationError("BACKEND_UNAVAILABLE", message, { retryable: true, context: { op }, cause });
}
