import { WireError } from "./wire-error.js";

/** The protocol name every BEP 3 handshake starts with, after its one-byte length. */
export const PROTOCOL_STRING = "BitTorrent protocol";

/** pstrlen (1) + pstr (19) + reserved (8) + info hash (20) + peer id (20). */
export const HANDSHAKE_LENGTH_BYTES = 68;

/** The eight reserved bytes carry the extension bits (see `RESERVED_BITS`). */
export const RESERVED_LENGTH_BYTES = 8;
/** A v1 info hash is a SHA-1 digest. */
export const INFO_HASH_LENGTH_BYTES = 20;
/** BEP 3 fixes the peer id at 20 bytes. */
export const PEER_ID_LENGTH_BYTES = 20;

/** The first 20 handshake bytes are always the same: pstrlen followed by pstr. */
export const HANDSHAKE_PREFIX: Buffer = Buffer.concat([
  Buffer.of(PROTOCOL_STRING.length),
  Buffer.from(PROTOCOL_STRING, "latin1"),
]);

const RESERVED_OFFSET = HANDSHAKE_PREFIX.length;
const INFO_HASH_OFFSET = RESERVED_OFFSET + RESERVED_LENGTH_BYTES;
const PEER_ID_OFFSET = INFO_HASH_OFFSET + INFO_HASH_LENGTH_BYTES;

export interface Handshake {
  /** 8 bytes of extension bits. */
  reserved: Uint8Array;
  /** 20 bytes; the caller checks it names a torrent it serves. */
  infoHash: Uint8Array;
  /** 20 bytes chosen by the peer. */
  peerId: Uint8Array;
}

export function encodeHandshake(h: Handshake): Buffer {
  assertLength(h.reserved, RESERVED_LENGTH_BYTES, "reserved");
  assertLength(h.infoHash, INFO_HASH_LENGTH_BYTES, "infoHash");
  assertLength(h.peerId, PEER_ID_LENGTH_BYTES, "peerId");
  const out = Buffer.allocUnsafe(HANDSHAKE_LENGTH_BYTES);
  out.set(HANDSHAKE_PREFIX, 0);
  out.set(h.reserved, RESERVED_OFFSET);
  out.set(h.infoHash, INFO_HASH_OFFSET);
  out.set(h.peerId, PEER_ID_OFFSET);
  return out;
}

/**
 * Parses the first 68 bytes of `bytes`; anything after them is ignored. The returned fields
 * are copies, so they stay valid when the input buffer is reused. Throws BAD_PROTOCOL when
 * pstrlen or pstr is wrong (for example an encrypted MSE stream) and BAD_LENGTH when fewer
 * than 68 bytes are given. The caller checks the info hash.
 */
export function decodeHandshake(bytes: Uint8Array): Handshake {
  if (bytes.length < HANDSHAKE_LENGTH_BYTES) {
    throw new WireError(
      "BAD_LENGTH",
      `handshake of ${bytes.length} bytes is shorter than ${HANDSHAKE_LENGTH_BYTES}`,
      { context: { length: bytes.length, expected: HANDSHAKE_LENGTH_BYTES } },
    );
  }
  for (let i = 0; i < HANDSHAKE_PREFIX.length; i++) checkHandshakeByte(i, bytes[i]);
  return {
    reserved: Buffer.from(bytes.subarray(RESERVED_OFFSET, INFO_HASH_OFFSET)),
    infoHash: Buffer.from(bytes.subarray(INFO_HASH_OFFSET, PEER_ID_OFFSET)),
    peerId: Buffer.from(bytes.subarray(PEER_ID_OFFSET, HANDSHAKE_LENGTH_BYTES)),
  };
}

/**
 * Checks one byte of the fixed 20-byte prefix as soon as it arrives, so a stream that is not
 * BitTorrent fails on its first wrong byte instead of after 68 bytes.
 */
export function checkHandshakeByte(position: number, byte: number): void {
  if (position >= HANDSHAKE_PREFIX.length || HANDSHAKE_PREFIX[position] === byte) return;
  if (position === 0) {
    throw new WireError(
      "BAD_PROTOCOL",
      `handshake pstrlen ${byte} is not ${PROTOCOL_STRING.length} ("${PROTOCOL_STRING}")`,
      { context: { pstrlen: byte } },
    );
  }
  throw new WireError(
    "BAD_PROTOCOL",
    `handshake pstr byte ${position} is 0x${byte.toString(16).padStart(2, "0")}, ` +
      `expected "${PROTOCOL_STRING}"`,
    { context: { position, byte } },
  );
}

function assertLength(bytes: Uint8Array, expected: number, field: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    const actual = bytes instanceof Uint8Array ? bytes.length : -1;
    throw new WireError("INVALID_ARGUMENT", `handshake ${field} has ${actual} bytes, expected ${expected}`, {
      context: { field, length: actual, expected },
    });
  }
}
