import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageError, type LayoutFile, type TorrentLayout } from "@shoal/coordination";
import { FsObjectStore } from "@shoal/store-fs";

// What the filesystem store does beyond the ObjectStore contract (packages/contract-tests runs
// that against it): where files land on disk, what it refuses, and its staging accounting.

const ih = "cd".repeat(20);

function layoutOf(name: string, files: readonly (readonly [readonly string[], number])[]): TorrentLayout {
  let offset = 0;
  const out: LayoutFile[] = files.map(([path, length]) => {
    const f = { path, length, offset, padding: false };
    offset += length;
    return f;
  });
  return { infoHash: ih, name, pieceLength: 16, totalLength: offset, files: out };
}

describe("FsObjectStore", () => {
  let parent: string;
  let root: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "shoal-store-fs-"));
    root = join(parent, "root");
    await mkdir(root);
    store = new FsObjectStore(root);
  });

  afterEach(async () => {
    await store.close();
    await rm(parent, { recursive: true, force: true });
  });

  it("writes pieces in place at <root>/<name>/<path>", async () => {
    await store.openTorrent(layoutOf("album", [[["disc 1", "a.flac"], 10], [["b.txt"], 8]]));
    await store.writePiece(ih, 1, Buffer.from("bb"));
    await store.writePiece(ih, 0, Buffer.from("aaaaaaaaaabbbbbb"));
    expect(await readFile(join(root, "album", "disc 1", "a.flac"), "utf8")).toBe("aaaaaaaaaa");
    expect(await readFile(join(root, "album", "b.txt"), "utf8")).toBe("bbbbbbbb");
  });

  it("finalize truncates a longer file left from an earlier run to the exact size", async () => {
    const layout = layoutOf("t.bin", [[[], 4]]);
    await writeFile(join(root, "t.bin"), "0123456789");
    await store.openTorrent(layout);
    await store.writePiece(ih, 0, Buffer.from("abcd"));
    await store.finalize(ih);
    expect(await readFile(join(root, "t.bin"), "utf8")).toBe("abcd");
  });

  it("refuses a file path that leaves the torrent's directory", async () => {
    const escaping = layoutOf("t", [[["..", "..", "escaped.txt"], 4]]);
    await expect(store.openTorrent(escaping)).rejects.toMatchObject({ name: "StorageError", code: "IO" });
  });

  it("refuses a file path that resolves to the torrent's directory itself", async () => {
    for (const path of [["."], ["a", ".."], [""]]) {
      await expect(store.openTorrent(layoutOf("t", [[path, 4]]))).rejects.toMatchObject({ name: "StorageError", code: "IO" });
    }
  });

  it("refuses an absolute file path", async () => {
    const absolute = layoutOf("t", [[[join(parent, "abs.txt")], 4]]);
    await expect(store.openTorrent(absolute)).rejects.toMatchObject({ name: "StorageError", code: "IO" });
  });

  it("refuses an absolute torrent name", async () => {
    const absolute = layoutOf(join(parent, "abs"), [[["x.txt"], 4]]);
    await expect(store.openTorrent(absolute)).rejects.toBeInstanceOf(StorageError);
  });

  it("refuses a torrent name that leaves the destination", async () => {
    const escaping = layoutOf("../escaped", [[["x.txt"], 4]]);
    let refused = false;
    try {
      await store.openTorrent(escaping);
      await store.writePiece(ih, 0, Buffer.from("evil"));
    } catch (err) {
      refused = err instanceof StorageError;
    }
    expect(existsSync(join(parent, "escaped", "x.txt"))).toBe(false);
    expect(refused).toBe(true);
  });

  it("reports a filesystem failure as a StorageError carrying its op", async () => {
    // The torrent's directory is taken by a regular file, so creating files below it fails.
    await writeFile(join(root, "blocked"), "");
    await store.openTorrent(layoutOf("blocked", [[["a.bin"], 4]]));
    let caught: unknown;
    try {
      await store.writePiece(ih, 0, Buffer.from("abcd"));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StorageError);
    expect((caught as StorageError).code).toBe("IO");
    expect((caught as StorageError).context.op).toBe("fs.mkdir");
  });

  it("counts staged bytes through overwrite, delete and closeTorrent", async () => {
    await store.openTorrent(layoutOf("s", [[["a"], 64]]));
    await store.putStaged({ infoHash: ih, piece: 0, attempt: 1, workerId: "w1" }, Buffer.alloc(10));
    await store.putStaged({ infoHash: ih, piece: 1, attempt: 1, workerId: "w1" }, Buffer.alloc(20));
    expect(store.stagedBytes).toBe(30);
    await store.putStaged({ infoHash: ih, piece: 0, attempt: 1, workerId: "w1" }, Buffer.alloc(5));
    expect(store.stagedBytes).toBe(25);
    await store.deleteStaged({ infoHash: ih, piece: 1, attempt: 1, workerId: "w1" });
    await store.deleteStaged({ infoHash: ih, piece: 1, attempt: 1, workerId: "w1" });
    expect(store.stagedBytes).toBe(5);
    await store.closeTorrent(ih);
    expect(store.stagedBytes).toBe(0);
  });

  it("reads a file that exists on disk without having written it", async () => {
    await mkdir(join(root, "pre"));
    await writeFile(join(root, "pre", "a.bin"), "abcdefgh");
    await store.openTorrent(layoutOf("pre", [[["a.bin"], 8]]));
    expect((await store.readRange(ih, 2, 4))?.toString()).toBe("cdef");
    expect((await stat(join(root, "pre", "a.bin"))).size).toBe(8);
  });
});
