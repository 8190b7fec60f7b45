import { PIECE_HEADER_BYTES } from "./limits.js";
import { LENGTH_PREFIX_BYTES, MESSAGE_ID } from "./message.js";
import type { Message } from "./message.js";
import { assertUint32, writeUint32 } from "./uint32.js";
import { WireError } from "./wire-error.js";

/*
 * Encoders return fresh Buffers ready for socket.write. Small messages come from
 * Buffer.allocUnsafe, which slices Node's shared pool instead of allocating, and every byte
 * is written before the buffer is returned, so no stale pool memory leaks onto the wire.
 */

/** A keep-alive is a bare zero length prefix. Shared: never write into it. */
export const KEEP_ALIVE: Buffer = Buffer.alloc(LENGTH_PREFIX_BYTES);

/** Bytes of a piece message in front of its block: prefix, id, index, begin. */
export const PIECE_MESSAGE_HEADER_BYTES = LENGTH_PREFIX_BYTES + PIECE_HEADER_BYTES;

/** The largest length a 4-byte prefix can carry. */
const UINT32_MAX = 0xffff_ffff;

/** The 17-byte request message, written without intermediate objects (download hot path). */
export function encodeRequest(index: number, begin: number, length: number): Buffer {
  assertUint32(index, "request", "index");
  assertUint32(begin, "request", "begin");
  assertUint32(length, "request", "length");
  return blockMessage(MESSAGE_ID.request, index, begin, length);
}

/** Bytes of one request message (and of cancel and reject, which share its layout). */
export const REQUEST_MESSAGE_BYTES = 17;

/**
 * Writes a request message into `target` at `offset` (REQUEST_MESSAGE_BYTES bytes), so a batch
 * of requests can go out in one buffer and one socket write.
 */
export function writeRequest(target: Uint8Array, offset: number, index: number, begin: number, length: number): void {
  assertUint32(index, "request", "index");
  assertUint32(begin, "request", "begin");
  assertUint32(length, "request", "length");
  if (!Number.isInteger(offset) || offset < 0 || offset + REQUEST_MESSAGE_BYTES > target.length) {
    throw new WireError("INVALID_ARGUMENT", `a request needs ${REQUEST_MESSAGE_BYTES} bytes at offset ${offset} of a ${target.length}-byte buffer`, {
      context: { offset, length: target.length },
    });
  }
  writeUint32(target, offset, REQUEST_MESSAGE_BYTES - LENGTH_PREFIX_BYTES);
  target[offset + 4] = MESSAGE_ID.request;
  writeUint32(target, offset + 5, index);
  writeUint32(target, offset + 9, begin);
  writeUint32(target, offset + 13, length);
}

/** The 9-byte have message, sent to every connection when a piece is verified. */
export function encodeHave(index: number): Buffer {
  assertUint32(index, "have", "index");
  return indexMessage(MESSAGE_ID.have, index);
}

/**
 * The 13 bytes in front of a piece message's block, for socket writev / cork with the block
 * written separately so the block is never copied.
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  assertUint32(index, "piece", "index");
  assertUint32(begin, "piece", "begin");
  assertUint32(blockLength, "piece", "block length");
  if (blockLength > UINT32_MAX - PIECE_HEADER_BYTES) {
    throw new WireError("INVALID_ARGUMENT", `piece block length ${blockLength} does not fit a uint32 prefix`, {
      context: { blockLength },
    });
  }
  const out = Buffer.allocUnsafe(PIECE_MESSAGE_HEADER_BYTES);
  writeUint32(out, 0, PIECE_HEADER_BYTES + blockLength);
  out[4] = MESSAGE_ID.piece;
  writeUint32(out, 5, index);
  writeUint32(out, 9, begin);
  return out;
}

/** A piece message as [header, block] for writev; the block is passed through, not copied. */
export function encodePieceParts(index: number, begin: number, block: Uint8Array): [Buffer, Uint8Array] {
  return [encodePieceHeader(index, begin, block.length), block];
}

/** Any message as one Buffer. A piece's block is copied; use `encodePieceParts` to avoid that. */
export function encodeMessage(m: Message): Buffer {
  switch (m.type) {
    case "keep_alive":
      return Buffer.alloc(LENGTH_PREFIX_BYTES);
    case "choke":
    case "unchoke":
    case "interested":
    case "not_interested":
    case "have_all":
    case "have_none":
      return idOnlyMessage(MESSAGE_ID[m.type]);
    case "have":
    case "suggest":
    case "allowed_fast":
      assertUint32(m.index, m.type, "index");
      return indexMessage(MESSAGE_ID[m.type], m.index);
    case "request":
    case "cancel":
    case "reject":
      assertUint32(m.index, m.type, "index");
      assertUint32(m.begin, m.type, "begin");
      assertUint32(m.length, m.type, "length");
      return blockMessage(MESSAGE_ID[m.type], m.index, m.begin, m.length);
    case "bitfield":
      return payloadMessage(MESSAGE_ID.bitfield, 0, m.bits, "bitfield");
    case "piece": {
      const header = encodePieceHeader(m.index, m.begin, m.block.length);
      const out = Buffer.allocUnsafe(header.length + m.block.length);
      out.set(header, 0);
      out.set(m.block, header.length);
      return out;
    }
    case "port": {
      if (!Number.isInteger(m.port) || m.port < 0 || m.port > 0xffff) {
        throw new WireError("INVALID_ARGUMENT", `port message port ${String(m.port)} is not a uint16`, {
          context: { port: String(m.port) },
        });
      }
      const out = Buffer.allocUnsafe(7);
      writeUint32(out, 0, 3);
      out[4] = MESSAGE_ID.port;
      out[5] = m.port >>> 8;
      out[6] = m.port;
      return out;
    }
    case "extended": {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 0xff) {
        throw new WireError("INVALID_ARGUMENT", `extended message id ${String(m.id)} is not a uint8`, {
          context: { id: String(m.id) },
        });
      }
      return payloadMessage(MESSAGE_ID.extended, m.id, m.payload, "extended");
    }
    default: {
      // Reachable only from untyped callers; the union above is exhaustive.
      const type = (m as { type?: unknown }).type;
      throw new WireError("INVALID_ARGUMENT", `unknown message type ${String(type)}`, {
        context: { type: String(type) },
      });
    }
  }
}

function idOnlyMessage(id: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  writeUint32(out, 0, 1);
  out[4] = id;
  return out;
}

function indexMessage(id: number, index: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  writeUint32(out, 0, 5);
  out[4] = id;
  writeUint32(out, 5, index);
  return out;
}

function blockMessage(id: number, index: number, begin: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(17);
  writeUint32(out, 0, 13);
  out[4] = id;
  writeUint32(out, 5, index);
  writeUint32(out, 9, begin);
  writeUint32(out, 13, length);
  return out;
}

/**
 * A message whose payload is a byte string: the bitfield (no sub-id) or an extended message
 * (one sub-id byte in front of the payload).
 */
function payloadMessage(id: number, subId: number, payload: Uint8Array, type: string): Buffer {
  const headerBytes = id === MESSAGE_ID.extended ? 2 : 1;
  if (payload.length > UINT32_MAX - headerBytes) {
    throw new WireError("INVALID_ARGUMENT", `${type} payload of ${payload.length} bytes does not fit a uint32 prefix`, {
      context: { type, length: payload.length },
    });
  }
  const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + headerBytes + payload.length);
  writeUint32(out, 0, headerBytes + payload.length);
  out[4] = id;
  if (headerBytes === 2) out[5] = subId;
  out.set(payload, LENGTH_PREFIX_BYTES + headerBytes);
  return out;
}
