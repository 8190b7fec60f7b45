import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TorrentLayout } from "@shoal/coordination";
import { FsObjectStore, FsTreeReader } from "../src/index.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "shoal-tree-reader-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const layout: TorrentLayout = {
  infoHash: "ab".repeat(20),
  name: "t",
  pieceLength: 16,
  totalLength: 40,
  files: [
    { path: ["a.bin"], length: 10, offset: 0, padding: false },
    { path: [".pad", "6"], length: 6, offset: 10, padding: true },
    { path: ["d", "b.bin"], length: 20, offset: 16, padding: false },
    { path: ["c"], length: 4, offset: 36, padding: false },
  ],
};

describe("FsTreeReader", () => {
  it("reads where the filesystem store writes", async () => {
    const store = new FsObjectStore(root);
    await store.openTorrent(layout);
    const stream = Buffer.alloc(40);
    for (let i = 0; i < 40; i++) stream[i] = i + 1;
    stream.fill(0, 10, 16);
    for (let p = 0; p < 3; p++) await store.writePiece(layout.infoHash, p, stream.subarray(p * 16, Math.min(40, p * 16 + 16)));
    await store.finalize(layout.infoHash);
    await store.close();

    const reader = new FsTreeReader(root, layout);
    expect(await reader.sizes()).toEqual([10, undefined, 20, 4]);
    expect(await reader.read(2, 5, 10)).toEqual(stream.subarray(21, 31));
    expect(await reader.read(0, 0, 10)).toEqual(stream.subarray(0, 10));
    expect(reader.locationOf(2)).toBe(join(root, "t", "d", "b.bin"));
    await reader.close();
  });

  it("reports missing files, and a directory where a file should be, as missing", async () => {
    await mkdir(join(root, "t", "a.bin"), { recursive: true });
    await mkdir(join(root, "t", "d"), { recursive: true });
    await writeFile(join(root, "t", "d", "b.bin"), "short");
    const reader = new FsTreeReader(root, layout);
    expect(await reader.sizes()).toEqual([undefined, undefined, 5, undefined]);
    await reader.close();
  });

  it("reports nothing at all when the torrent's directory is a file", async () => {
    await writeFile(join(root, "t"), "in the way");
    const reader = new FsTreeReader(root, layout);
    expect(await reader.sizes()).toEqual([undefined, undefined, undefined, undefined]);
    await reader.close();
  });

  it("fails a read past the end of a file, naming it", async () => {
    await mkdir(join(root, "t", "d"), { recursive: true });
    await writeFile(join(root, "t", "d", "b.bin"), "short");
    const reader = new FsTreeReader(root, layout);
    await expect(reader.read(2, 0, 10)).rejects.toThrow(/b\.bin: the file ends at byte 5, before 10/);
    await expect(reader.read(0, 0, 1)).rejects.toMatchObject({ name: "StorageError", code: "IO" });
    await reader.close();
  });

  it("refuses a layout whose paths leave the root", () => {
    const evil = { ...layout, files: [{ path: ["..", "..", "etc"], length: 1, offset: 0, padding: false }] };
    expect(() => new FsTreeReader(root, evil)).toThrow(/leaves the destination/);
  });
});
