/**
 * Recycles piece buffers. Allocating a fresh buffer per piece costs page faults (the kernel
 * zero-fills new pages) and full garbage collections (V8 counts external memory), which
 * profiling showed as the largest CPU cost after hashing. Buffers come back when the store drops
 * a staged piece; the pool keeps at most `maxBytes` of idle ones.
 */
export class PieceBufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private idleBytes = 0;

  constructor(private readonly maxBytes: number) {}

  acquire(size: number): Buffer {
    const list = this.free.get(size);
    const buf = list?.pop();
    if (buf) {
      this.idleBytes -= size;
      return buf;
    }
    // Shared memory, so the store's write thread (and hashing threads, when configured) read
    // a piece where it is, without a copy.
    return Buffer.from(new SharedArrayBuffer(size));
  }

  /** Hands a buffer back; nobody may touch it afterwards. */
  release(buf: Buffer): void {
    // Only whole buffers we could have handed out: views into larger memory stay with their owner.
    if (buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) return;
    if (this.idleBytes + buf.length > this.maxBytes) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.idleBytes += buf.length;
  }
}
