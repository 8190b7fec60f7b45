/**
 * Pieces this worker downloaded lately, kept for serving them to peers. In a cluster the final
 * objects live in a bucket where an object is readable only once its multipart upload is
 * complete, so without these a worker could serve nothing until the end; and the pieces peers
 * ask for most are the fresh ones the swarm is trading. Least recently used pieces go first
 * once `maxBytes` is reached.
 */
export class RecentPieces {
  private readonly pieces = new Map<number, Uint8Array>();
  private bytes = 0;

  /** @param onEvict receives each piece's buffer once dropped (not on `delete`), for reuse. */
  constructor(
    private readonly maxBytes: number,
    private readonly onEvict: (data: Uint8Array) => void = () => {},
  ) {}

  /** Keeps `data` (not copied: the caller hands it over) as piece `index`. */
  put(index: number, data: Uint8Array): void {
    if (data.byteLength > this.maxBytes) {
      this.onEvict(data);
      return;
    }
    this.delete(index);
    this.pieces.set(index, data);
    this.bytes += data.byteLength;
    for (const [i, d] of this.pieces) {
      if (this.bytes <= this.maxBytes) break;
      this.pieces.delete(i);
      this.bytes -= d.byteLength;
      this.onEvict(d);
    }
  }

  /**
   * The piece's bytes, marking it recently used; undefined when not kept. The buffer may be
   * handed on for reuse once evicted: copy what must outlive the current turn of the event loop.
   */
  get(index: number): Uint8Array | undefined {
    const d = this.pieces.get(index);
    if (d) {
      this.pieces.delete(index);
      this.pieces.set(index, d);
    }
    return d;
  }

  /** Forgets a piece (its hash failed: the bytes were wrong). */
  delete(index: number): void {
    const d = this.pieces.get(index);
    if (!d) return;
    this.pieces.delete(index);
    this.bytes -= d.byteLength;
  }

  get size(): number {
    return this.bytes;
  }
}
