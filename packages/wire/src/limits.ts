import { WireError } from "./wire-error.js";

/** The block size every client requests; BEP 3 clients drop connections that ask for more. */
export const BLOCK_SIZE_BYTES = 16384;

/**
 * The largest piece count shoal accepts, the same cap the metainfo reader applies: 2^21 pieces
 * is 256 KiB of bitfield, and even 16 KiB pieces then describe a 32 GiB torrent.
 */
export const MAX_PIECE_COUNT = 2_097_152;

/**
 * The default ceiling on any one length prefix: 1 MiB of payload plus the 13 bytes of the
 * largest fixed header. Nothing legitimate comes close (the largest real messages are 16 KiB
 * blocks and 256 KiB bitfields), so a larger prefix means a broken or hostile peer.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 13;

/** What a `MessageDecoder` accepts from one connection. */
export interface DecoderLimits {
  /**
   * The torrent's piece count, or `null` while it is unknown (a magnet link before the
   * metadata arrives). While unknown, a bitfield may be any length up to the one for
   * `MAX_PIECE_COUNT` pieces and indices are only checked against `MAX_PIECE_COUNT`; the
   * caller must re-check the bitfield with `new Bitfield(count, bits)` once it learns the count.
   */
  pieceCount: number | null;
  /**
   * The largest block a piece message may carry and a request may ask for. Defaults to
   * `BLOCK_SIZE_BYTES`; some clients request 32 KiB blocks, so it is configurable.
   */
  maxBlockBytes?: number;
  /** The largest length prefix accepted; defaults to `DEFAULT_MAX_MESSAGE_BYTES`. */
  maxMessageBytes?: number;
}

/** Limits with defaults applied and every value checked. */
export interface ResolvedLimits {
  readonly pieceCount: number | null;
  readonly maxBlockBytes: number;
  readonly maxMessageBytes: number;
}

/** The largest value a 4-byte length prefix can hold. */
const UINT32_MAX = 0xffff_ffff;

/** Bytes of id, index and begin in front of a piece message's block. */
export const PIECE_HEADER_BYTES = 9;

export function resolveLimits(limits: DecoderLimits): ResolvedLimits {
  const maxBlockBytes = limits.maxBlockBytes ?? BLOCK_SIZE_BYTES;
  const maxMessageBytes = limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxBlockBytes) || maxBlockBytes < 1) {
    throw invalidLimit(`maxBlockBytes ${maxBlockBytes} is not a positive integer`, maxBlockBytes);
  }
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes > UINT32_MAX) {
    throw invalidLimit(`maxMessageBytes ${maxMessageBytes} is not an integer up to 2^32-1`, maxMessageBytes);
  }
  if (maxMessageBytes < PIECE_HEADER_BYTES + maxBlockBytes) {
    throw invalidLimit(
      `maxMessageBytes ${maxMessageBytes} cannot hold a piece message of maxBlockBytes ${maxBlockBytes} ` +
        `(needs ${PIECE_HEADER_BYTES + maxBlockBytes})`,
      maxMessageBytes,
    );
  }
  checkPieceCount(limits.pieceCount, maxMessageBytes);
  return { pieceCount: limits.pieceCount, maxBlockBytes, maxMessageBytes };
}

/** Checks a piece count given to a decoder: a known count's bitfield must fit one message. */
export function checkPieceCount(pieceCount: number | null, maxMessageBytes: number): void {
  if (pieceCount === null) return;
  assertPieceCount(pieceCount);
  const bitfieldMessageBytes = 1 + bitfieldByteLength(pieceCount);
  if (bitfieldMessageBytes > maxMessageBytes) {
    throw invalidLimit(
      `a bitfield of ${pieceCount} pieces needs ${bitfieldMessageBytes} bytes, ` +
        `above maxMessageBytes ${maxMessageBytes}`,
      pieceCount,
    );
  }
}

/** Throws unless `pieceCount` is an integer from 0 to `MAX_PIECE_COUNT`. */
export function assertPieceCount(pieceCount: number): void {
  if (!Number.isInteger(pieceCount) || pieceCount < 0 || pieceCount > MAX_PIECE_COUNT) {
    throw new WireError(
      "INVALID_ARGUMENT",
      `piece count ${pieceCount} is not an integer from 0 to ${MAX_PIECE_COUNT}`,
      { context: { pieceCount: String(pieceCount) } },
    );
  }
}

/** The wire length of a bitfield: one bit per piece, rounded up to whole bytes. */
export function bitfieldByteLength(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

function invalidLimit(message: string, value: number): WireError {
  return new WireError("INVALID_ARGUMENT", `decoder limits: ${message}`, {
    context: { value: String(value) },
  });
}
