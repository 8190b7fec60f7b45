import { bitfieldByteLength, MAX_PIECE_COUNT, PIECE_HEADER_BYTES } from "./limits.js";
import { MESSAGE_ID } from "./message.js";
import type { Message } from "./message.js";
import { readUint32 } from "./uint32.js";
import { WireError } from "./wire-error.js";

/*
 * The per-id rules of the decoder, kept apart from its buffering. `checkMessageLength` runs
 * as soon as the id byte is known, before a payload byte is buffered; `parseMessage` runs on
 * the complete message and checks its contents (indices, block lengths, spare bits).
 */

/**
 * The byte length (id byte included) of messages whose size is fixed by their id, indexed by
 * id; 0 means the size is not fixed. An array rather than a Map because it is read per message.
 */
const FIXED_LENGTH = new Uint8Array(256);
for (const type of ["choke", "unchoke", "interested", "not_interested", "have_all", "have_none"] as const) {
  FIXED_LENGTH[MESSAGE_ID[type]] = 1;
}
for (const type of ["have", "suggest", "allowed_fast"] as const) FIXED_LENGTH[MESSAGE_ID[type]] = 5;
for (const type of ["request", "cancel", "reject"] as const) FIXED_LENGTH[MESSAGE_ID[type]] = 13;
FIXED_LENGTH[MESSAGE_ID.port] = 3;

/** Names by id, for error messages. */
const NAME_BY_ID: ReadonlyMap<number, string> = new Map(
  Object.entries(MESSAGE_ID).map(([name, id]) => [id, name]),
);

/** An id byte plus the extended message id byte: the shortest extended message. */
const EXTENDED_MIN_LENGTH = 2;

/** The largest bitfield accepted while the piece count is unknown. */
const MAX_BITFIELD_BYTES = bitfieldByteLength(MAX_PIECE_COUNT);

/**
 * Shared objects for messages without fields, indexed by id; frozen so one handler cannot
 * change what another receives.
 */
const NO_FIELDS: (Message | undefined)[] = new Array<Message | undefined>(256).fill(undefined);
for (const type of ["choke", "unchoke", "interested", "not_interested", "have_all", "have_none"] as const) {
  NO_FIELDS[MESSAGE_ID[type]] = Object.freeze({ type });
}

/** The one keep-alive message object. */
export const KEEP_ALIVE_MESSAGE: Message = Object.freeze({ type: "keep_alive" });

/**
 * Checks `length` (the prefix value, id byte included, > 0) against message `id`. Returns
 * false for ids this codec does not know, which the decoder skips; throws BAD_LENGTH or
 * BAD_BITFIELD when the length cannot be right for the id.
 */
export function checkMessageLength(
  id: number,
  length: number,
  pieceCount: number | null,
  maxBlockBytes: number,
): boolean {
  const fixed = FIXED_LENGTH[id];
  if (fixed !== 0) {
    if (length === fixed) return true;
    throw badLength(id, length, `does not match the fixed length ${fixed}`, fixed);
  }
  switch (id) {
    case MESSAGE_ID.bitfield: {
      const bytes = length - 1;
      if (pieceCount === null) {
        if (bytes <= MAX_BITFIELD_BYTES) return true;
        throw new WireError(
          "BAD_BITFIELD",
          `bitfield length ${bytes} exceeds ${MAX_BITFIELD_BYTES} bytes (${MAX_PIECE_COUNT} pieces) ` +
            "while the piece count is unknown",
          { context: { length: bytes, expected: MAX_BITFIELD_BYTES } },
        );
      }
      const expected = bitfieldByteLength(pieceCount);
      if (bytes === expected) return true;
      throw new WireError(
        "BAD_BITFIELD",
        `bitfield length ${bytes} does not match ${pieceCount} pieces (expected ${expected})`,
        { context: { length: bytes, expected, pieceCount } },
      );
    }
    case MESSAGE_ID.piece: {
      const max = PIECE_HEADER_BYTES + maxBlockBytes;
      if (length > PIECE_HEADER_BYTES && length <= max) return true;
      const problem =
        length <= PIECE_HEADER_BYTES
          ? `carries no block (needs more than ${PIECE_HEADER_BYTES})`
          : `exceeds ${PIECE_HEADER_BYTES} + ${maxBlockBytes} block bytes`;
      throw badLength(id, length, problem, max);
    }
    case MESSAGE_ID.extended:
      if (length >= EXTENDED_MIN_LENGTH) return true;
      throw badLength(id, length, `is shorter than ${EXTENDED_MIN_LENGTH}`, EXTENDED_MIN_LENGTH);
    default:
      return false;
  }
}

/**
 * Parses a message whose `length` bytes (id byte first) start at `offset` in `bytes`.
 * `checkMessageLength` must have accepted the length. Byte fields (piece block, bitfield,
 * extended payload) are views into `bytes`.
 */
export function parseMessage(
  bytes: Buffer,
  offset: number,
  length: number,
  pieceCount: number | null,
  maxBlockBytes: number,
): Message {
  const id = bytes[offset];
  const noFields = NO_FIELDS[id];
  if (noFields !== undefined) return noFields;
  const end = offset + length;
  switch (id) {
    case MESSAGE_ID.piece:
      return {
        type: "piece",
        index: checkIndex(id, readUint32(bytes, offset + 1), pieceCount),
        begin: readUint32(bytes, offset + 5),
        block: bytes.subarray(offset + PIECE_HEADER_BYTES, end),
      };
    case MESSAGE_ID.request:
    case MESSAGE_ID.cancel:
    case MESSAGE_ID.reject:
      return {
        type: id === MESSAGE_ID.request ? "request" : id === MESSAGE_ID.cancel ? "cancel" : "reject",
        index: checkIndex(id, readUint32(bytes, offset + 1), pieceCount),
        begin: readUint32(bytes, offset + 5),
        length: checkBlockLength(id, readUint32(bytes, offset + 9), maxBlockBytes),
      };
    case MESSAGE_ID.have:
    case MESSAGE_ID.suggest:
    case MESSAGE_ID.allowed_fast:
      return {
        type: id === MESSAGE_ID.have ? "have" : id === MESSAGE_ID.suggest ? "suggest" : "allowed_fast",
        index: checkIndex(id, readUint32(bytes, offset + 1), pieceCount),
      };
    case MESSAGE_ID.bitfield: {
      const bits = bytes.subarray(offset + 1, end);
      if (pieceCount !== null) checkSpareBits(bits, pieceCount);
      return { type: "bitfield", bits };
    }
    case MESSAGE_ID.port:
      return { type: "port", port: (bytes[offset + 1] << 8) | bytes[offset + 2] };
    case MESSAGE_ID.extended:
      return { type: "extended", id: bytes[offset + 1], payload: bytes.subarray(offset + 2, end) };
    default:
      // The decoder skips ids that checkMessageLength does not know, so this is a codec bug.
      throw new Error(`parseMessage called with unknown message id ${id}`);
  }
}

/** BEP 3: the bits after the last piece must be zero; a set spare bit names a piece that does not exist. */
export function checkSpareBits(bits: Uint8Array, pieceCount: number): void {
  const spare = bits.length * 8 - pieceCount;
  if (spare === 0 || (bits[bits.length - 1] & ((1 << spare) - 1)) === 0) return;
  throw new WireError(
    "BAD_BITFIELD",
    `bitfield for ${pieceCount} pieces has spare bits set in its last byte 0x${bits[bits.length - 1].toString(16)}`,
    { context: { pieceCount, lastByte: bits[bits.length - 1] } },
  );
}

function checkIndex(id: number, index: number, pieceCount: number | null): number {
  if (index < (pieceCount ?? MAX_PIECE_COUNT)) return index;
  const limit = pieceCount === null ? `the ${MAX_PIECE_COUNT}-piece cap` : `${pieceCount} pieces`;
  throw new WireError("INDEX_OUT_OF_RANGE", `${nameOf(id)} index ${index} is out of range for ${limit}`, {
    context: { message: nameOf(id), index, pieceCount },
  });
}

function checkBlockLength(id: number, length: number, maxBlockBytes: number): number {
  if (length > 0 && length <= maxBlockBytes) return length;
  throw new WireError(
    "BAD_BLOCK_LENGTH",
    `${nameOf(id)} block length ${length} is not between 1 and ${maxBlockBytes}`,
    { context: { message: nameOf(id), length, maxBlockBytes } },
  );
}

function badLength(id: number, length: number, problem: string, expected: number): WireError {
  return new WireError("BAD_LENGTH", `${nameOf(id)} message length ${length} ${problem}`, {
    context: { message: nameOf(id), length, expected },
  });
}

function nameOf(id: number): string {
  return NAME_BY_ID.get(id) ?? `id ${id}`;
}
