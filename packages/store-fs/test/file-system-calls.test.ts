import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LayoutFile, TorrentLayout } from "@shoal/coordination";
import { FsObjectStore } from "@shoal/store-fs";

// Counts the calls the store makes into node:fs/promises (the real functions still run), so the
// tests can tell how much file system work a torrent of many small files costs.
const calls = vi.hoisted(() => ({ mkdir: 0, open: 0, stat: 0 }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...fs,
    mkdir: (...args: Parameters<typeof fs.mkdir>) => {
      calls.mkdir++;
      return fs.mkdir(...args);
    },
    open: (...args: Parameters<typeof fs.open>) => {
      calls.open++;
      return fs.open(...args);
    },
    stat: (...args: Parameters<typeof fs.stat>) => {
      calls.stat++;
      return fs.stat(...args);
    },
  };
});

const ih = "ef".repeat(20);
const PIECE_LENGTH = 64;

/** `dirs` folders of `perDir` files each (plus one empty file), in stream order. */
function manyFiles(dirs: number, perDir: number, fileBytes: number): TorrentLayout {
  const files: LayoutFile[] = [];
  let offset = 0;
  for (let d = 0; d < dirs; d++) {
    for (let f = 0; f < perDir; f++) {
      files.push({ path: [`dir-${d}`, "sub", `file-${f}.bin`], length: fileBytes, offset, padding: false });
      offset += fileBytes;
    }
  }
  files.push({ path: ["empty.txt"], length: 0, offset, padding: false });
  return { infoHash: ih, name: "many", pieceLength: PIECE_LENGTH, totalLength: offset, files };
}

function pieceOf(payload: Buffer, index: number): Buffer {
  return payload.subarray(index * PIECE_LENGTH, Math.min((index + 1) * PIECE_LENGTH, payload.length));
}

function resetCalls(): void {
  calls.mkdir = calls.open = calls.stat = 0;
}

describe("FsObjectStore file system calls on a torrent of many small files", () => {
  let root: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "shoal-store-calls-"));
    store = new FsObjectStore(root);
    resetCalls();
  });

  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it("makes each directory once, however many files it holds", async () => {
    const layout = manyFiles(4, 10, 20);
    const payload = randomBytes(layout.totalLength);
    await store.openTorrent(layout);
    const pieces = Math.ceil(layout.totalLength / PIECE_LENGTH);
    await Promise.all(Array.from({ length: pieces }, (_, i) => store.writePiece(ih, i, pieceOf(payload, i))));
    expect(calls.mkdir).toBe(4);
    for (const f of layout.files.slice(0, -1)) {
      expect((await readFile(join(root, "many", ...f.path))).equals(payload.subarray(f.offset, f.offset + f.length))).toBe(true);
    }
  });

  it("answers the recheck of a fresh destination without touching the disk again", async () => {
    const layout = manyFiles(3, 5, 30);
    await store.openTorrent(layout);
    resetCalls();
    const pieces = Math.ceil(layout.totalLength / PIECE_LENGTH);
    for (let i = 0; i < pieces; i++) expect(await store.readRange(ih, i * PIECE_LENGTH, PIECE_LENGTH)).toBeUndefined();
    expect(calls).toEqual({ mkdir: 0, open: 0, stat: 0 });
    await expect(stat(join(root, "many"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("reads a file back once it is written, after a read found it missing", async () => {
    const layout = manyFiles(1, 2, PIECE_LENGTH);
    await mkdir(join(root, "many"));
    await store.openTorrent(layout);
    const payload = randomBytes(layout.totalLength);
    expect(await store.readRange(ih, 0, PIECE_LENGTH)).toBeUndefined();
    await store.writePiece(ih, 0, pieceOf(payload, 0));
    expect((await store.readRange(ih, 0, PIECE_LENGTH))?.equals(pieceOf(payload, 0))).toBe(true);
  });

  it("never hides a file whose creation raced with a read that found it missing", async () => {
    const layout = manyFiles(1, 2, PIECE_LENGTH);
    await mkdir(join(root, "many"));
    await store.openTorrent(layout);
    const payload = randomBytes(layout.totalLength);
    const [read] = await Promise.all([store.readRange(ih, PIECE_LENGTH, PIECE_LENGTH), store.writePiece(ih, 1, pieceOf(payload, 1))]);
    // The first read may or may not see the bytes; every read after the write must.
    if (read !== undefined) expect(read.equals(pieceOf(payload, 1))).toBe(true);
    expect((await store.readRange(ih, PIECE_LENGTH, PIECE_LENGTH))?.equals(pieceOf(payload, 1))).toBe(true);
  });

  it("finalize opens only the files it did not write completely itself", async () => {
    const layout = manyFiles(2, 8, 24);
    const payload = randomBytes(layout.totalLength);
    await store.openTorrent(layout);
    const pieces = Math.ceil(layout.totalLength / PIECE_LENGTH);
    await Promise.all(Array.from({ length: pieces }, (_, i) => store.writePiece(ih, i, pieceOf(payload, i))));
    resetCalls();
    await store.finalize(ih);
    // Only the empty file, which no piece covers, is looked at and created.
    expect(calls).toEqual({ mkdir: 1, open: 1, stat: 1 });
    expect((await stat(join(root, "many", "empty.txt"))).size).toBe(0);
    for (const f of layout.files.slice(0, -1)) expect((await stat(join(root, "many", ...f.path))).size).toBe(f.length);
  });

  it("finalize still truncates files that were on disk before, and sizes those never written", async () => {
    const layout = manyFiles(1, 3, 24);
    const payload = randomBytes(layout.totalLength);
    await mkdir(join(root, "many", "dir-0", "sub"), { recursive: true });
    await writeFile(join(root, "many", "dir-0", "sub", "file-0.bin"), Buffer.alloc(100, 1));
    await store.openTorrent(layout);
    // Piece 0 covers file 0 and part of file 1; file 2 is never written.
    await store.writePiece(ih, 0, pieceOf(payload, 0));
    await store.finalize(ih);
    const sizes = await Promise.all(layout.files.map(async (f) => (await stat(join(root, "many", ...f.path))).size));
    expect(sizes).toEqual(layout.files.map((f) => f.length));
    expect((await readFile(join(root, "many", "dir-0", "sub", "file-0.bin"))).equals(payload.subarray(0, 24))).toBe(true);
  });

  it("writes a piece larger than its largest single write byte for byte, across files", async () => {
    const pieceLength = 1024 * 1024;
    const files: LayoutFile[] = [
      { path: ["a.bin"], length: 300_000, offset: 0, padding: false },
      { path: ["b.bin"], length: 1_500_000, offset: 300_000, padding: false },
    ];
    const layout: TorrentLayout = { infoHash: ih, name: "big", pieceLength, totalLength: 1_800_000, files };
    const payload = randomBytes(layout.totalLength);
    await store.openTorrent(layout);
    await store.writePiece(ih, 1, payload.subarray(pieceLength));
    await store.writePiece(ih, 0, payload.subarray(0, pieceLength));
    expect((await readFile(join(root, "big", "a.bin"))).equals(payload.subarray(0, 300_000))).toBe(true);
    expect((await readFile(join(root, "big", "b.bin"))).equals(payload.subarray(300_000))).toBe(true);
  });

  it("makes a directory again when it was removed after the store made it", async () => {
    const layout = manyFiles(1, 2, PIECE_LENGTH);
    const payload = randomBytes(layout.totalLength);
    await store.openTorrent(layout);
    await store.writePiece(ih, 0, pieceOf(payload, 0));
    await rm(join(root, "many"), { recursive: true });
    await store.writePiece(ih, 1, pieceOf(payload, 1));
    expect((await readFile(join(root, "many", "dir-0", "sub", "file-1.bin"))).equals(pieceOf(payload, 1))).toBe(true);
  });
});
