import { checkHandshakeByte, decodeHandshake, HANDSHAKE_LENGTH_BYTES, HANDSHAKE_PREFIX } from "./bep3-handshake.js";
import type { Handshake } from "./bep3-handshake.js";
import { toBuffer } from "./to-buffer.js";
import { WireError } from "./wire-error.js";

/** The handshake and whatever arrived after it, which belongs to the message stream. */
export interface HandshakeResult {
  handshake: Handshake;
  /** The bytes after the 68th, a view into the last pushed chunk; feed it to a MessageDecoder. */
  rest: Buffer;
}

/**
 * Collects the 68-byte handshake from raw socket chunks. `push` returns `null` until the
 * handshake is complete, then the handshake and the rest of that chunk, which the caller
 * hands to a `MessageDecoder`. The 20-byte prefix is checked byte by byte as it arrives, so
 * a peer speaking another protocol fails on its first wrong byte. After a BAD_PROTOCOL error
 * the decoder stays failed and every later push rethrows it; pushing after success throws
 * INVALID_STATE.
 */
export class HandshakeDecoder {
  private readonly bytes = Buffer.alloc(HANDSHAKE_LENGTH_BYTES);
  private filled = 0;
  private done = false;
  private failure: WireError | null = null;

  push(chunk: Uint8Array): HandshakeResult | null {
    if (this.failure !== null) throw this.failure;
    if (this.done) {
      throw new WireError("INVALID_STATE", "handshake decoder received bytes after the handshake completed");
    }
    const take = Math.min(chunk.length, HANDSHAKE_LENGTH_BYTES - this.filled);
    // Only the fixed prefix can be wrong; reserved bits, info hash and peer id are free-form.
    const check = Math.max(0, Math.min(take, HANDSHAKE_PREFIX.length - this.filled));
    try {
      for (let i = 0; i < check; i++) checkHandshakeByte(this.filled + i, chunk[i]);
    } catch (err) {
      this.failure = err as WireError;
      throw err;
    }
    this.bytes.set(chunk.subarray(0, take), this.filled);
    this.filled += take;
    if (this.filled < HANDSHAKE_LENGTH_BYTES) return null;
    this.done = true;
    return { handshake: decodeHandshake(this.bytes), rest: toBuffer(chunk).subarray(take) };
  }

  /** Bytes of an unfinished handshake held so far. */
  get bufferedBytes(): number {
    return this.done ? 0 : this.filled;
  }
}
