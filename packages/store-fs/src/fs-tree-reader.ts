import type { promises as fsp } from "node:fs";
import { open, stat } from "node:fs/promises";
import { StorageError, type TorrentLayout, type TreeReader } from "@shoal/coordination";
import { forEachConcurrently, io, storageError } from "./fs-io.js";
import { treePaths } from "./tree-paths.js";

/** Stats in flight at once: enough to keep libuv's thread pool busy on a torrent of many files. */
const STAT_CONCURRENCY = 32;
/** A path that is missing, or runs through something that is not a directory, holds no file. */
const ABSENT_ERRNOS = new Set(["ENOENT", "ENOTDIR"]);

/**
 * Reads a torrent's files where the filesystem store writes them (`<root>/<name>/<path>`, a
 * single-file torrent at `<root>/<name>`), read-only. A check reads the torrent in stream order,
 * so a file's handle is kept open until another file is asked for and no read of it is in
 * flight: one or two files are open at a time.
 */
export class FsTreeReader implements TreeReader {
  private readonly paths: readonly string[];
  private readonly handles = new Map<number, { opened: Promise<fsp.FileHandle>; busy: number }>();

  constructor(
    root: string,
    private readonly layout: TorrentLayout,
  ) {
    this.paths = treePaths(root, layout, "fs.treeReader").paths;
  }

  locationOf(index: number): string {
    return this.paths[index]!;
  }

  async sizes(): Promise<readonly (number | undefined)[]> {
    const out: (number | undefined)[] = this.layout.files.map(() => undefined);
    const indices = this.layout.files.flatMap((f, i) => (f.padding ? [] : [i]));
    await forEachConcurrently(indices, STAT_CONCURRENCY, async (i) => {
      const path = this.paths[i]!;
      try {
        const st = await stat(path);
        // A directory (or a device) where the file should be is not the file.
        out[i] = st.isFile() ? st.size : undefined;
      } catch (err) {
        if (!ABSENT_ERRNOS.has((err as NodeJS.ErrnoException).code ?? "")) throw storageError("fs.stat", path, err);
      }
    });
    return out;
  }

  async read(index: number, offset: number, length: number): Promise<Buffer> {
    const path = this.paths[index]!;
    const entry = this.handleOf(index);
    entry.busy++;
    try {
      const handle = await entry.opened;
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await io("fs.read", path, () => handle.read(out, done, length - done, offset + done));
        if (bytesRead === 0) {
          throw new StorageError("IO", `fs.read failed on ${path}: the file ends at byte ${offset + done}, before ${offset + length}`, {
            context: { op: "fs.read", path, offset, length },
            retryable: false,
          });
        }
        done += bytesRead;
      }
      return out;
    } finally {
      entry.busy--;
    }
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((e) => e.opened.then((h) => h.close()).catch(() => undefined)));
  }

  /** The file's handle, opened on first use; idle handles of other files are closed. */
  private handleOf(index: number): { opened: Promise<fsp.FileHandle>; busy: number } {
    for (const [i, e] of this.handles) {
      if (i === index || e.busy > 0) continue;
      this.handles.delete(i);
      void e.opened.then((h) => h.close()).catch(() => undefined);
    }
    let entry = this.handles.get(index);
    if (!entry) {
      const path = this.paths[index]!;
      entry = { opened: io("fs.open", path, () => open(path, "r")), busy: 0 };
      // A failed open is reported by the read that awaits it; the next read tries again.
      const made = entry;
      made.opened.catch(() => {
        if (this.handles.get(index) === made) this.handles.delete(index);
      });
      this.handles.set(index, made);
    }
    return entry;
  }
}
