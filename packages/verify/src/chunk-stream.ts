import type { TreeReader } from "@shoal/coordination";
import type { ReadChunk } from "./verify-plan.js";

/**
 * The planned chunks of a check, read in order with a bounded read-ahead and handed out as the
 * hashing asks for bytes. The hashing asks for exactly the bytes the chunks were planned from, in
 * the same order; any other request is a broken invariant and throws.
 */
export class ChunkStream {
  private readonly pending: { readonly chunk: ReadChunk; readonly data: Promise<Buffer> }[] = [];
  private current: { readonly chunk: ReadChunk; readonly data: Buffer; pos: number } | undefined;

  constructor(
    private readonly reader: TreeReader,
    private readonly chunks: Iterator<ReadChunk>,
    private readonly readAhead: number,
  ) {}

  /** Passes `length` bytes of file `fileIndex` from `offset` to `sink`, in one or more slices. */
  async take(fileIndex: number, offset: number, length: number, sink: (bytes: Buffer) => void): Promise<void> {
    let at = offset;
    let left = length;
    while (left > 0) {
      let c = this.current;
      if (!c || c.pos === c.chunk.length) c = await this.advance();
      if (c.chunk.fileIndex !== fileIndex || c.chunk.offset + c.pos !== at) {
        throw new Error(`read plan out of step: wanted file ${fileIndex} at ${at}, next planned is file ${c.chunk.fileIndex} at ${c.chunk.offset + c.pos}`);
      }
      const n = Math.min(left, c.chunk.length - c.pos);
      sink(c.data.subarray(c.pos, c.pos + n));
      c.pos += n;
      at += n;
      left -= n;
    }
  }

  /** Waits for reads still in flight (after a failure or an abort), so none outlives the check. */
  async settle(): Promise<void> {
    this.current = undefined;
    await Promise.allSettled(this.pending.splice(0).map((p) => p.data));
  }

  private async advance(): Promise<{ readonly chunk: ReadChunk; readonly data: Buffer; pos: number }> {
    this.current = undefined;
    this.fill(1);
    const next = this.pending.shift();
    if (!next) throw new Error("read plan out of step: the hashing asked for more bytes than were planned");
    // Start the reads after this one before waiting on it.
    this.fill(this.readAhead);
    const data = await next.data;
    if (data.length !== next.chunk.length) {
      throw new Error(`reader returned ${data.length} bytes of file ${next.chunk.fileIndex} at ${next.chunk.offset}, ${next.chunk.length} were asked`);
    }
    this.current = { chunk: next.chunk, data, pos: 0 };
    return this.current;
  }

  private fill(depth: number): void {
    while (this.pending.length < depth) {
      const n = this.chunks.next();
      if (n.done) return;
      const chunk = n.value;
      const data = this.reader.read(chunk.fileIndex, chunk.offset, chunk.length);
      // A read that fails while another is awaited is reported when its turn comes.
      data.catch(() => undefined);
      this.pending.push({ chunk, data });
    }
  }
}
