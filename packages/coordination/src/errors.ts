import { ShoalError } from "@shoal/errors";

export type CoordinationErrorCode =
  | "UNKNOWN_TORRENT"
  | "PIECE_OUT_OF_RANGE"
  | "LENGTH_MISMATCH"
  | "INVARIANT_BROKEN"
  | "BACKEND_UNAVAILABLE"
  | "QUEUE_CLOSED"
  | "PAYLOAD_TOO_LARGE"
  /** A caller passed a value the port refuses (a limit below 1, say): a bug or bad input, not retryable. */
  | "BAD_ARGUMENT";

/** Errors of the coordination ports: infrastructure faults and broken invariants only. */
export class CoordinationError extends ShoalError<CoordinationErrorCode> {
  static override readonly name = "CoordinationError";
}

export type StorageErrorCode = "NOT_FOUND" | "IO" | "SIZE_MISMATCH" | "UNKNOWN_TORRENT" | "OUT_OF_SPACE";

/** Errors of ObjectStore adapters; I/O errors carry `op` in their context. */
export class StorageError extends ShoalError<StorageErrorCode> {
  static override readonly name = "StorageError";
}
