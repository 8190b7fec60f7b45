import { ShoalError } from "@shoal/errors";

/**
 * - BAD_MESSAGE: a KRPC datagram that is not a valid query, response or error (dropped).
 * - BAD_BOOTSTRAP: a bootstrap address that is not host:port (a user setting).
 * - BAD_STATE: a saved node state that cannot be read (a fresh node id is made instead).
 * - TIMEOUT: a query no node answered in time.
 * - REMOTE_ERROR: the node answered with a KRPC error.
 */
export type DhtErrorCode = "BAD_MESSAGE" | "BAD_BOOTSTRAP" | "BAD_STATE" | "TIMEOUT" | "REMOTE_ERROR";

export class DhtError extends ShoalError<DhtErrorCode> {
  static override readonly name = "DhtError";
}
