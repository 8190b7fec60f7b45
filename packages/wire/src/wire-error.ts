import { ShoalError } from "@shoal/errors";

/**
 * Every way the peer wire codec can refuse input. The first eleven are faults of the remote peer
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
  /** MSE: the peer's Diffie-Hellman public key is outside the group. */
  | "MSE_BAD_KEY"
  /** MSE: the synchronisation pattern (HASH('req1', S) or the encrypted VC) is not within the padding window. */
  | "MSE_NO_SYNC"
  /** MSE: the obfuscated info hash names none of the torrents we serve. */
  | "MSE_UNKNOWN_TORRENT"
  /** MSE: a decrypted field is wrong (VC not zero, padding or payload length over its limit). */
  | "MSE_BAD_FIELD"
  /** MSE: the peer offers (or selected) no method our encryption policy allows. */
  | "MSE_NO_COMMON_METHOD"
  /** The caller passed a value the codec cannot represent (not a uint32, wrong hash size). */
  | "INVALID_ARGUMENT"
  /** The caller used a decoder in the wrong phase (pushing after the handshake finished). */
  | "INVALID_STATE";

export class WireError extends ShoalError<WireErrorCode> {
  static override readonly name = "WireError";
}
