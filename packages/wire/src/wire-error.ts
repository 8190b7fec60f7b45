import { ShoalError } from "@shoal/errors";

/**
 * Every way the peer wire codec can refuse input. The first six are faults of the remote peer
 * (the connection should be closed and the peer scored); the last two are bugs in the caller.
 */
export type WireErrorCode =
  /** The handshake does not start with pstrlen 19 and "BitTorrent protocol". */
  | "BAD_PROTOCOL"
  /** A length prefix is above the decoder's `maxMessageBytes`. */
  | "MESSAGE_TOO_LONG"
  /** A length prefix does not fit its message id (fixed size, piece block size, extended). */
  | "BAD_LENGTH"
  /** A bitfield has the wrong byte length for the piece count, or a spare bit set. */
  | "BAD_BITFIELD"
  /** A request, cancel or reject asks for 0 bytes or more than `maxBlockBytes`. */
  | "BAD_BLOCK_LENGTH"
  /** A piece index is not below the torrent's piece count. */
  | "INDEX_OUT_OF_RANGE"
  /** A BEP 9 (ut_metadata) or BEP 11 (ut_pex) payload that does not decode or breaks the BEP. */
  | "BAD_EXTENSION_MESSAGE"
  /** The caller passed a value the codec cannot represent (not a uint32, wrong hash size). */
  | "INVALID_ARGUMENT"
  /** The caller used a decoder in the wrong phase (pushing after the handshake finished). */
  | "INVALID_STATE";

export class WireError extends ShoalError<WireErrorCode> {
  static override readonly name = "WireError";
}
