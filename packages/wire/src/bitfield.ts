import { assertPieceCount, bitfieldByteLength } from "./limits.js";
import { checkSpareBits } from "./message-rules.js";
import { WireError } from "./wire-error.js";

/** Set bits per byte value, so counting a received bitfield costs one lookup per byte. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

/**
 * Which pieces a peer (or we) have, in BEP 3 wire order: piece 0 is the high bit of byte 0.
 * The count of set bits is kept up to date on every change, so `count` and `isComplete` are
 * O(1) however often the picker asks.
 */
export class Bitfield {
  readonly pieceCount: number;
  private readonly bytes: Uint8Array;
  private setCount = 0;

  /**
   * An empty bitfield, or a copy of `bytes` in wire form. Throws BAD_BITFIELD when `bytes`
   * is not exactly ceil(pieceCount / 8) long or has a bit set past the last piece, and
   * INVALID_ARGUMENT when `pieceCount` is not an integer from 0 to `MAX_PIECE_COUNT`.
   */
  constructor(pieceCount: number, bytes?: Uint8Array) {
    assertPieceCount(pieceCount);
    this.pieceCount = pieceCount;
    const byteLength = bitfieldByteLength(pieceCount);
    if (bytes === undefined) {
      this.bytes = new Uint8Array(byteLength);
      return;
    }
    if (bytes.length !== byteLength) {
      throw new WireError(
        "BAD_BITFIELD",
        `bitfield length ${bytes.length} does not match ${pieceCount} pieces (expected ${byteLength})`,
        { context: { length: bytes.length, expected: byteLength, pieceCount } },
      );
    }
    checkSpareBits(bytes, pieceCount);
    this.bytes = Uint8Array.from(bytes);
    let count = 0;
    for (let i = 0; i < byteLength; i++) count += POPCOUNT[this.bytes[i]];
    this.setCount = count;
  }

  has(i: number): boolean {
    this.checkIndex(i);
    return (this.bytes[i >>> 3] & (0x80 >>> (i & 7))) !== 0;
  }

  set(i: number): void {
    this.checkIndex(i);
    const mask = 0x80 >>> (i & 7);
    const byte = this.bytes[i >>> 3];
    if ((byte & mask) !== 0) return;
    this.bytes[i >>> 3] = byte | mask;
    this.setCount++;
  }

  clear(i: number): void {
    this.checkIndex(i);
    const mask = 0x80 >>> (i & 7);
    const byte = this.bytes[i >>> 3];
    if ((byte & mask) === 0) return;
    this.bytes[i >>> 3] = byte & ~mask;
    this.setCount--;
  }

  /** How many pieces are set. */
  count(): number {
    return this.setCount;
  }

  isComplete(): boolean {
    return this.setCount === this.pieceCount;
  }

  /** Sets every piece (a BEP 6 have_all, or a seed's own bitfield). */
  setAll(): void {
    this.bytes.fill(0xff);
    const spare = this.bytes.length * 8 - this.pieceCount;
    if (spare > 0) this.bytes[this.bytes.length - 1] = (0xff << spare) & 0xff;
    this.setCount = this.pieceCount;
  }

  /** A copy in wire form, ready for a bitfield message. */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  /** The set piece indices in ascending order. */
  *indices(): Iterable<number> {
    const bytes = this.bytes;
    for (let b = 0; b < bytes.length; b++) {
      const byte = bytes[b];
      if (byte === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if ((byte & (0x80 >>> bit)) !== 0) yield b * 8 + bit;
      }
    }
  }

  private checkIndex(i: number): void {
    if (Number.isInteger(i) && i >= 0 && i < this.pieceCount) return;
    throw new WireError(
      "INDEX_OUT_OF_RANGE",
      `bitfield index ${String(i)} is out of range for ${this.pieceCount} pieces`,
      { context: { index: String(i), pieceCount: this.pieceCount } },
    );
  }
}
