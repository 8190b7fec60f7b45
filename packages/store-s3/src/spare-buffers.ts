/**
 * Idle buffers by size, up to `maxBytes` in all: the buffers of uploaded parts, for the next
 * parts. A fresh 16 MiB buffer costs page faults on every first write, and garbage collection.
 */
export class SpareBuffers {
  private readonly free = new Map<number, Buffer[]>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  take(size: number): Buffer {
    const buf = this.free.get(size)?.pop();
    if (!buf) return Buffer.allocUnsafeSlow(size);
    this.bytes -= size;
    return buf;
  }

  give(buf: Buffer): void {
    if (this.bytes + buf.length > this.maxBytes || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.bytes += buf.length;
  }
}
