import { constants, type promises as fsp } from "node:fs";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { StorageError, type ObjectStore, type StagedRef, type TorrentLayout } from "@shoal/coordination";
import { spansOfRange } from "./file-spans.js";

type FileHandle = fsp.FileHandle;

/** Open files kept per store; beyond this the least recently used is closed (fd limits). */
const MAX_OPEN_FILES = 256;

interface TorrentFiles {
  readonly layout: TorrentLayout;
  readonly paths: readonly string[];
  /** Bytes of unselected files that share pieces with selected ones, at their torrent offsets. */
  readonly partsPath: string;
}

/**
 * The filesystem ObjectStore of embedded mode. Final files live at `<root>/<name>/<path>` (a
 * single-file torrent at `<root>/<name>`) and verified pieces are written in place at their
 * offsets, so there is no assembly step. Staged pieces stay in memory: the worker, verifier and
 * writer share this process, and a crash loses only pieces that were never `stored` (they are
 * downloaded again), which is the contract of staging.
 */
export class FsObjectStore implements ObjectStore {
  private readonly torrents = new Map<string, TorrentFiles>();
  private readonly staged = new Map<string, Buffer>();
  private readonly handles = new Map<string, { opened: Promise<FileHandle>; busy: number; evicted: boolean }>();
  private stagedBytesTotal = 0;

  /**
   * @param recycle receives each staged buffer once the store has dropped it, so the producer
   *   can reuse the memory (embedded mode shares one process).
   */
  constructor(
    private readonly root: string,
    private readonly recycle: (buf: Buffer) => void = () => {},
  ) {}

  /** Bytes held in staging right now (for back-pressure and status). */
  get stagedBytes(): number {
    return this.stagedBytesTotal;
  }

  async openTorrent(layout: TorrentLayout): Promise<void> {
    if (this.torrents.has(layout.infoHash)) return;
    const base = resolve(this.root);
    const top = resolve(base, layout.name);
    if (!top.startsWith(base + sep)) {
      throw new StorageError("IO", `torrent name ${JSON.stringify(layout.name)} leaves the destination ${base}`, {
        context: { op: "fs.openTorrent", name: layout.name },
      });
    }
    const paths = layout.files.map((f) => {
      const p = resolve(top, ...f.path);
      // Metainfo sanitises every component already; this is the last line of defence. An empty
      // path is a single-file torrent's file, `<root>/<name>` itself; any other path must land
      // strictly below that directory, never on it (`a/..`) or beside it.
      const inside = f.path.length === 0 ? p === top : p.startsWith(top + sep);
      if (!inside) {
        throw new StorageError("IO", `file path ${f.path.join("/")} leaves the destination ${base}`, {
          context: { op: "fs.openTorrent", path: f.path.join("/") },
        });
      }
      return p;
    });
    // Next to the torrent's tree, never in it: a sparse file addressed by torrent offset (as
    // libtorrent keeps its `.parts` file in the save path).
    const partsPath = resolve(base, `.${layout.infoHash}.parts`);
    this.torrents.set(layout.infoHash, { layout, paths, partsPath });
  }

  async putStaged(ref: StagedRef, data: Uint8Array): Promise<void> {
    const key = stagedKey(ref);
    const prev = this.staged.get(key);
    if (prev === data) return;
    if (prev) this.stagedBytesTotal -= prev.length;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.staged.set(key, buf);
    this.stagedBytesTotal += buf.length;
  }

  async getStaged(ref: StagedRef): Promise<Buffer> {
    const buf = this.staged.get(stagedKey(ref));
    if (!buf) {
      throw new StorageError("NOT_FOUND", `no staged bytes for piece ${ref.piece} attempt ${ref.attempt} of ${ref.infoHash}`, {
        context: { op: "fs.getStaged", infoHash: ref.infoHash, piece: ref.piece, attempt: ref.attempt },
      });
    }
    return buf;
  }

  async deleteStaged(ref: StagedRef): Promise<void> {
    const key = stagedKey(ref);
    const buf = this.staged.get(key);
    if (buf) {
      this.stagedBytesTotal -= buf.length;
      this.staged.delete(key);
      this.recycle(buf);
    }
  }

  async writePiece(infoHash: string, piece: number, data: Uint8Array): Promise<readonly number[]> {
    const t = this.torrent(infoHash);
    const offset = piece * t.layout.pieceLength;
    for (const s of spansOfRange(t.layout.files, offset, data.length)) {
      if (t.layout.files[s.fileIndex]!.padding) continue;
      const { path, at } = this.placeOf(t, s.fileIndex, s.fileOffset);
      await this.withFile(path, true, async (fh) => {
        let done = 0;
        while (done < s.length) {
          const { bytesWritten } = await io("fs.writePiece", path, () =>
            fh.write(data, s.rangeOffset + done, s.length - done, at + done),
          );
          done += bytesWritten;
        }
      });
    }
    // Written in place: in the page cache, which survives a crash of this process.
    return [piece];
  }

  /** Files are written in place, so there is nothing unfinished to drop; the data stays. */
  async abortTorrent(infoHash: string): Promise<void> {
    this.torrent(infoHash);
  }

  async readRange(infoHash: string, offset: number, length: number): Promise<Buffer | undefined> {
    const t = this.torrent(infoHash);
    const out = Buffer.alloc(length);
    for (const s of spansOfRange(t.layout.files, offset, length)) {
      if (t.layout.files[s.fileIndex]!.padding) continue;
      const { path, at } = this.placeOf(t, s.fileIndex, s.fileOffset);
      const complete = await this.withFile(path, false, async (fh) => {
        let done = 0;
        while (done < s.length) {
          const { bytesRead } = await io("fs.readRange", path, () =>
            fh.read(out, s.rangeOffset + done, s.length - done, at + done),
          );
          if (bytesRead === 0) return false;
          done += bytesRead;
        }
        return true;
      });
      if (!complete) return undefined;
    }
    return out;
  }

  /**
   * Sizes every file exactly. No fsync: written bytes are in the kernel's page cache, which
   * survives a crash of this process (the durability `stored` promises in embedded mode); an
   * fsync of a whole torrent would cost seconds per GiB and no reference client pays it.
   */
  async finalize(infoHash: string): Promise<void> {
    const t = this.torrent(infoHash);
    for (let i = 0; i < t.paths.length; i++) {
      const f = t.layout.files[i]!;
      if (f.padding || f.skipped) continue;
      const path = t.paths[i]!;
      await this.withFile(path, true, async (fh) => {
        const size = (await io("fs.finalize", path, () => fh.stat())).size;
        if (size !== f.length) await io("fs.finalize", path, () => fh.truncate(f.length));
      });
    }
    // With every file selected, bytes kept for unselected files (an earlier, narrower run) are
    // of no use any more.
    if (!t.layout.files.some((f) => f.skipped)) {
      this.evict(t.partsPath);
      await io("fs.finalize", t.partsPath, () => rm(t.partsPath, { force: true }));
    }
  }

  async closeTorrent(infoHash: string): Promise<void> {
    const t = this.torrents.get(infoHash);
    if (!t) return;
    for (const p of t.paths) this.evict(p);
    this.evict(t.partsPath);
    for (const key of [...this.staged.keys()]) {
      if (key.startsWith(`${infoHash}/`)) {
        this.stagedBytesTotal -= this.staged.get(key)!.length;
        this.staged.delete(key);
      }
    }
    this.torrents.delete(infoHash);
  }

  async close(): Promise<void> {
    for (const ih of [...this.torrents.keys()]) await this.closeTorrent(ih);
  }

  /** Where a byte of a file lives: in the file itself, or in the parts file when the file is not selected. */
  private placeOf(t: TorrentFiles, fileIndex: number, fileOffset: number): { path: string; at: number } {
    const f = t.layout.files[fileIndex]!;
    return f.skipped ? { path: t.partsPath, at: f.offset + fileOffset } : { path: t.paths[fileIndex]!, at: fileOffset };
  }

  private torrent(infoHash: string): TorrentFiles {
    const t = this.torrents.get(infoHash);
    if (!t) throw new StorageError("UNKNOWN_TORRENT", `torrent ${infoHash} was not opened in the store`, { context: { infoHash } });
    return t;
  }

  /**
   * Runs `fn` with the open file at `path` (opened, and created when `create`, on first use).
   * Resolves undefined without calling `fn` when the file does not exist and `create` is false.
   * Handles stay open for reuse; past MAX_OPEN_FILES the least recently used one is closed, but
   * only once no operation is using it, so eviction never breaks a write in flight.
   */
  private async withFile<T>(path: string, create: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T | undefined> {
    let entry = this.handles.get(path);
    if (entry) {
      // Re-insert to keep the map in least-recently-used order.
      this.handles.delete(path);
      this.handles.set(path, entry);
    } else {
      if (!create) {
        try {
          if (!(await stat(path)).isFile()) return undefined;
        } catch {
          return undefined;
        }
        entry = this.handles.get(path);
      }
      if (!entry) {
        const opened = (async () => {
          if (create) await io("fs.mkdir", dirname(path), () => mkdir(dirname(path), { recursive: true }));
          return io("fs.open", path, () => open(path, constants.O_RDWR | (create ? constants.O_CREAT : 0), 0o644));
        })();
        entry = { opened, busy: 0, evicted: false };
        const e = entry;
        opened.catch(() => {
          if (this.handles.get(path) === e) this.handles.delete(path);
        });
        this.handles.set(path, entry);
        if (this.handles.size > MAX_OPEN_FILES) this.evict(this.handles.keys().next().value as string);
      }
    }
    entry.busy++;
    try {
      return await fn(await entry.opened);
    } finally {
      entry.busy--;
      if (entry.evicted && entry.busy === 0) void closeQuietly(entry.opened);
    }
  }

  private evict(path: string): void {
    const entry = this.handles.get(path);
    if (!entry) return;
    this.handles.delete(path);
    entry.evicted = true;
    if (entry.busy === 0) void closeQuietly(entry.opened);
  }
}

async function closeQuietly(opened: Promise<FileHandle>): Promise<void> {
  try {
    await (await opened).close();
  } catch {
    // A handle that failed to open has nothing to close.
  }
}

/** Failures that doing the same thing again cannot fix. */
const PERMANENT_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG", "EFBIG"]);

function stagedKey(ref: StagedRef): string {
  return `${ref.infoHash}/${ref.piece}/${ref.attempt}/${ref.workerId}`;
}

async function io<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StorageError(code === "ENOSPC" || code === "EDQUOT" ? "OUT_OF_SPACE" : "IO", `${op} failed on ${path}: ${(err as Error).message}`, {
      context: { op, path, errno: code ?? null },
      retryable: code === undefined || !PERMANENT_ERRNOS.has(code),
      cause: err,
    });
  }
}
