import { lendHeadroom } from "@shoal/coordination";
import { BLOCK_BYTES } from "./active-piece.js";

/**
 * The headroom of a piece buffer: room in front of the piece for the header of the bus message
 * that carries it, so the bus writes the header there and sends header and piece as one view
 * instead of copying the piece behind it (see `lendHeadroom`). The header is the piece's fields
 * as JSON: 203 bytes with a 7-digit piece index and a 64-character worker id, plus 24 for each
 * contributor ("255.255.255.255:65535" quoted, and a comma), at most one per 16 KiB block. Up to
 * 2 MiB pieces, that fits a header naming a different IPv4 peer for every block, or IPv6 peers
 * (twice as long) for half of them; a header that does not fit is copied as before. The room
 * stops at 4 KiB (160 IPv4 contributors): it costs memory in every buffer, pooled or not, and a
 * piece has a few contributors far more often than a hundred.
 */
const HEADER_BASE_BYTES = 256;
const HEADER_BYTES_PER_BLOCK = 24;
const MAX_HEADROOM_BYTES = 4096;
/** Headroom is whole multiples of this, so a piece starts as aligned as its memory does. */
const HEADROOM_ALIGN = 64;

/** Bytes of headroom in front of a buffer for a piece of `size` bytes. */
export function headroomFor(size: number): number {
  const bytes = Math.min(MAX_HEADROOM_BYTES, HEADER_BASE_BYTES + HEADER_BYTES_PER_BLOCK * Math.ceil(size / BLOCK_BYTES));
  return Math.ceil(bytes / HEADROOM_ALIGN) * HEADROOM_ALIGN;
}

/**
 * Recycles piece buffers. Allocating a fresh buffer per piece costs page faults (the kernel
 * zero-fills new pages) and full garbage collections (V8 counts external memory), which
 * profiling showed as the largest CPU cost after hashing. Buffers come back when the store drops
 * a staged piece; the pool keeps at most `maxBytes` of idle ones (counting pieces, not headroom).
 *
 * A buffer is a view of `size` bytes at `headroomFor(size)` into memory of its own, and its
 * holder lends the headroom to the bus: whoever holds a buffer may hand it to `publish`, and
 * must not give it back before that publish resolved (its client may still hold a body built in
 * the headroom), nor at all after one that failed.
 */
export class PieceBufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** The memory of every buffer handed out: views into other memory are never taken in. */
  private readonly own = new WeakSet<ArrayBufferLike>();
  private idleBytes = 0;

  constructor(private readonly maxBytes: number) {}

  acquire(size: number): Buffer {
    let buf = this.free.get(size)?.pop();
    if (buf) {
      this.idleBytes -= size;
    } else {
      // Shared memory, so the store's write thread (and hashing threads, when configured) read
      // a piece where it is, without a copy.
      const room = headroomFor(size);
      const memory = new SharedArrayBuffer(room + size);
      this.own.add(memory);
      buf = Buffer.from(memory, room, size);
    }
    // A loan of its own for each holder: the bus writes a loan's room with one header only, and
    // the header of the message an earlier holder sent must not bind this one.
    lendHeadroom(buf, buf.byteOffset);
    return buf;
  }

  /** Hands a buffer back (this view, or another object over the same bytes); nobody may touch it afterwards. */
  release(buf: Buffer): void {
    // Only views we could have handed out: views into other memory, or into part of a piece,
    // stay with their owner.
    if (!this.own.has(buf.buffer) || buf.byteOffset !== headroomFor(buf.length) || buf.buffer.byteLength !== buf.byteOffset + buf.length) return;
    if (this.idleBytes + buf.length > this.maxBytes) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.idleBytes += buf.length;
  }
}
