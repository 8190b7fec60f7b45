import { StorageError, type StagedRef } from "@shoal/coordination";

/**
 * Staged pieces, held in memory as the filesystem store holds them. In the cluster the bytes of a
 * piece travel between services over the bus; staging them in the bucket would cost a PUT and a
 * GET (and a DELETE) per piece, two more bucket bytes per payload byte than the final write.
 */
export class MemoryStaging {
  private readonly staged = new Map<string, Buffer>();
  private total = 0;

  constructor(private readonly recycle: (buf: Buffer) => void) {}

  get bytes(): number {
    return this.total;
  }

  put(ref: StagedRef, data: Uint8Array): void {
    const key = stagedKey(ref);
    const prev = this.staged.get(key);
    if (prev === data) return;
    if (prev) this.total -= prev.length;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.staged.set(key, buf);
    this.total += buf.length;
  }

  get(ref: StagedRef): Buffer {
    const buf = this.staged.get(stagedKey(ref));
    if (!buf) {
      throw new StorageError("NOT_FOUND", `no staged bytes for piece ${ref.piece} attempt ${ref.attempt} of ${ref.infoHash}`, {
        context: { op: "s3.getStaged", infoHash: ref.infoHash, piece: ref.piece, attempt: ref.attempt },
      });
    }
    return buf;
  }

  delete(ref: StagedRef): void {
    const key = stagedKey(ref);
    const buf = this.staged.get(key);
    if (!buf) return;
    this.total -= buf.length;
    this.staged.delete(key);
    this.recycle(buf);
  }

  /** Drops every staged piece of a torrent (its buffers are not recycled: they may still be in use). */
  dropTorrent(infoHash: string): void {
    for (const [key, buf] of this.staged) {
      if (key.startsWith(`${infoHash}/`)) {
        this.total -= buf.length;
        this.staged.delete(key);
      }
    }
  }
}

function stagedKey(ref: StagedRef): string {
  return `${ref.infoHash}/${ref.piece}/${ref.attempt}/${ref.workerId}`;
}
