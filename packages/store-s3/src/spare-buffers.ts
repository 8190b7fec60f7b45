/**
 * Distinct sizes remembered as asked for. A torrent of thousands of small files asks for about
 * as many sizes, each once; past this many the memory starts over, so it stays a few pages
 * while a size that keeps coming back (a part size) is learnt again at its next two units.
 */
const MAX_SIZES_REMEMBERED = 1024;

/**
 * Idle buffers by size, up to `maxBytes` in all: the buffers of uploaded parts, for the next
 * parts. A fresh 16 MiB buffer costs page faults on every first write, and garbage collection.
 *
 * Only a buffer of a size asked for more than once is kept. The middle parts of a multipart file
 * all have one size, so their buffers are taken again; a small object's buffer, and the first
 * and last parts of a big file, have sizes of their own that no later unit asks for, and keeping
 * them filled the whole allowance with buffers nobody took (112 MiB of them in a writer of a
 * torrent of 10,000 small files).
 */
export class SpareBuffers {
  private readonly free = new Map<number, Buffer[]>();
  /** How often each size was asked for, up to 2: sizes seen twice are worth keeping. */
  private readonly asked = new Map<number, number>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes held idle now. */
  get idleBytes(): number {
    return this.bytes;
  }

  take(size: number): Buffer {
    this.remember(size);
    const buf = this.free.get(size)?.pop();
    if (!buf) return Buffer.allocUnsafeSlow(size);
    this.bytes -= size;
    return buf;
  }

  give(buf: Buffer): void {
    if (this.bytes + buf.length > this.maxBytes || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) return;
    if ((this.asked.get(buf.length) ?? 0) < 2) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.bytes += buf.length;
  }

  private remember(size: number): void {
    const n = this.asked.get(size) ?? 0;
    if (n >= 2) return;
    if (n === 0 && this.asked.size >= MAX_SIZES_REMEMBERED) {
      // Sizes with buffers idle stay known, so those buffers are still handed out.
      for (const s of this.asked.keys()) if (!this.free.get(s)?.length) this.asked.delete(s);
    }
    this.asked.set(size, n + 1);
  }
}
