import { constants, type promises as fsp } from "node:fs";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { StorageError, type ObjectStore, type StagedRef, type TorrentLayout } from "@shoal/coordination";
import { spansOfRange } from "./file-spans.js";
import { treePaths } from "./tree-paths.js";
import { MAX_WRITE_BYTES, WriteThread } from "./write-thread.js";
import { closeQuietly, exists, forEachConcurrently, io, sizeOf, stagedKey, storageError } from "./fs-io.js";

type FileHandle = fsp.FileHandle;

/** Open files kept per store; beyond this the least recently used is closed (fd limits). */
const MAX_OPEN_FILES = 256;
/**
 * Files `finalize` checks at once. Each check is a stat on libuv's thread pool; a few dozen in
 * flight keep every pool thread busy, where one at a time cost a thread-pool round trip per file
 * (seconds for a torrent of thousands of files).
 */
const FINALIZE_CONCURRENCY = 32;

interface TorrentFiles {
  readonly layout: TorrentLayout;
  readonly paths: readonly string[];
  /**
   * Per file, 1 while the file is known not to exist: reads of it are answered without a system
   * call. Set for every file when the torrent's top path is missing at `openTorrent` (a fresh
   * download, so the start-up recheck costs nothing), and per file when a read finds it missing.
   */
  readonly absent: Uint8Array;
  /** Per file, bumped when a write starts, so a read's "missing" that raced with it is ignored. */
  readonly writes: Uint32Array;
  /** Per file, 1 once this store created it: its size is then the end of what it wrote. */
  readonly created: Uint8Array;
  /** Per file, the end of the furthest byte this store wrote to it. */
  readonly writtenEnd: Float64Array;
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
  /**
   * Directories made (or being made) by this store. A torrent of thousands of files in a few
   * hundred folders would otherwise pay a recursive mkdir (mkdir, then a stat on EEXIST) for
   * every file it opens.
   */
  private readonly dirs = new Map<string, Promise<void>>();
  /** Writes pieces in shared memory (the worker's buffer pool hands out only such) beside the event loop. */
  private readonly writeThread = new WriteThread();
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
    const { base, top, paths } = treePaths(this.root, layout, "fs.openTorrent");
    // The torrent's pieces will be written: have the write thread up before the first arrives.
    this.writeThread.prepare();
    const n = layout.files.length;
    const absent = new Uint8Array(n);
    if (!(await exists(top))) absent.fill(1);
    // Another open of the same torrent may have finished meanwhile; its state may be in use.
    if (this.torrents.has(layout.infoHash)) return;
    // Next to the torrent's tree, never in it: a sparse file addressed by torrent offset (as
    // libtorrent keeps its `.parts` file in the save path).
    const partsPath = resolve(base, `.${layout.infoHash}.parts`);
    this.torrents.set(layout.infoHash, {
      layout,
      paths,
      absent,
      writes: new Uint32Array(n),
      created: new Uint8Array(n),
      writtenEnd: new Float64Array(n),
      partsPath,
    });
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
    // The spans go to different files, so they are opened (and created) in parallel: a piece of
    // many small files costs one thread-pool round trip, not one per file in turn.
    await Promise.all(
      spansOfRange(t.layout.files, offset, data.length).map(async (s) => {
        const i = s.fileIndex;
        const f = t.layout.files[i]!;
        if (f.padding) return;
        if (f.skipped) {
          await this.writeAt(t.partsPath, data, s.rangeOffset, s.length, f.offset + s.fileOffset);
          return;
        }
        const path = t.paths[i]!;
        if (t.absent[i] === 1) {
          // Nothing is there, so the open below creates the file: it holds only what we write.
          t.absent[i] = 0;
          t.created[i] = 1;
        }
        t.writes[i]!++;
        await this.writeAt(path, data, s.rangeOffset, s.length, s.fileOffset);
        t.writtenEnd[i] = Math.max(t.writtenEnd[i]!, s.fileOffset + s.length);
      }),
    );
    // Written in place: in the page cache, which survives a crash of this process.
    return [piece];
  }

  /** Files are written in place, so there is nothing unfinished to drop; the data stays. */
  async abortTorrent(infoHash: string): Promise<void> {
    this.torrent(infoHash);
  }

  async readRange(infoHash: string, offset: number, length: number): Promise<Buffer | undefined> {
    const t = this.torrent(infoHash);
    const spans = spansOfRange(t.layout.files, offset, length);
    // A fresh download's recheck asks for every piece of files that do not exist yet.
    const absent = (i: number) => t.absent[i] === 1 && !t.layout.files[i]!.padding && !t.layout.files[i]!.skipped;
    if (spans.some((s) => absent(s.fileIndex))) return undefined;
    const out = Buffer.alloc(length);
    for (const s of spans) {
      const i = s.fileIndex;
      const f = t.layout.files[i]!;
      if (f.padding) continue;
      // An unselected file's bytes live in the parts file, at their torrent offset.
      const path = f.skipped ? t.partsPath : t.paths[i]!;
      const at = f.skipped ? f.offset + s.fileOffset : s.fileOffset;
      const writes = t.writes[i];
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
      // Missing, and no write started meanwhile: later reads of this file need no system call.
      if (complete === undefined && t.writes[i] === writes && !f.skipped) t.absent[i] = 1;
      if (!complete) return undefined;
    }
    return out;
  }

  /** Files are rewritten in place: writing the damaged pieces again repairs them, and nothing else needs fetching. */
  async discardDamaged(infoHash: string, _pieces: readonly number[]): Promise<readonly number[]> {
    this.torrent(infoHash);
    return [];
  }

  /**
   * Sizes every file exactly. A file this store created and wrote to its last byte has its size
   * already and needs no system call; the others are checked a few dozen at a time, and only
   * missing or mis-sized ones are opened. No fsync: written bytes are in the kernel's page cache,
   * which survives a crash of this process (the durability `stored` promises in embedded mode);
   * an fsync of a whole torrent would cost seconds per GiB and no reference client pays it.
   */
  async finalize(infoHash: string): Promise<void> {
    const t = this.torrent(infoHash);
    const unsure: number[] = [];
    t.layout.files.forEach((f, i) => {
      if (!f.padding && !f.skipped && !(t.created[i] === 1 && t.writtenEnd[i] === f.length)) unsure.push(i);
    });
    await forEachConcurrently(unsure, FINALIZE_CONCURRENCY, async (i) => {
      const f = t.layout.files[i]!;
      const path = t.paths[i]!;
      const size = this.handles.has(path) ? undefined : await sizeOf(path);
      if (size === f.length) return;
      await this.withFile(path, true, async (fh) => {
        if (size === undefined && (await io("fs.finalize", path, () => fh.stat())).size === f.length) return;
        await io("fs.finalize", path, () => fh.truncate(f.length));
      });
      t.absent[i] = 0;
    });
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
    for (const p of t.paths) {
      this.evict(p);
      this.dirs.delete(dirname(p));
    }
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
    await this.writeThread.close();
  }

  /** Writes `length` bytes of `data` from `from` at `at` in the file at `path` (created when missing). */
  private async writeAt(path: string, data: Uint8Array, from: number, length: number, at: number): Promise<void> {
    await this.withFile(path, true, async (fh) => {
      if (data.buffer instanceof SharedArrayBuffer) {
        await this.writeThread.write(fh.fd, data, from, length, at).catch((err: unknown) => {
          throw storageError("fs.writePiece", path, err);
        });
        return;
      }
      // Memory the thread cannot see is written through libuv's pool, in the same sizes.
      let done = 0;
      while (done < length) {
        const { bytesWritten } = await io("fs.writePiece", path, () => fh.write(data, from + done, Math.min(MAX_WRITE_BYTES, length - done), at + done));
        done += bytesWritten;
      }
    });
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
        const opened = create ? this.create(path) : io("fs.open", path, () => open(path, constants.O_RDWR));
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

  /** Opens `path` for writing, creating it and (once per store) its directory. */
  private async create(path: string): Promise<FileHandle> {
    const dir = dirname(path);
    await this.makeDir(dir);
    const flags = constants.O_RDWR | constants.O_CREAT;
    try {
      return await open(path, flags, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw storageError("fs.open", path, err);
      // The directory was removed after we made it: make it again, once.
      this.dirs.delete(dir);
      await this.makeDir(dir);
      return io("fs.open", path, () => open(path, flags, 0o644));
    }
  }

  private makeDir(dir: string): Promise<void> {
    let made = this.dirs.get(dir);
    if (!made) {
      made = io("fs.mkdir", dir, () => mkdir(dir, { recursive: true })).then(() => undefined);
      this.dirs.set(dir, made);
      // A failure is not remembered: the next file in that directory tries again.
      made.catch(() => {
        if (this.dirs.get(dir) === made) this.dirs.delete(dir);
      });
    }
    return made;
  }

  private evict(path: string): void {
    const entry = this.handles.get(path);
    if (!entry) return;
    this.handles.delete(path);
    entry.evicted = true;
    if (entry.busy === 0) void closeQuietly(entry.opened);
  }
}
