import { describe, expect, it } from "vitest";
import { verifyTree } from "../src/index.js";
import { MemoryTreeReader, fixture, type FileSpec } from "./fixtures.js";

// 64-byte pieces; files straddle pieces, one is empty, one is padding.
const SPECS: FileSpec[] = [
  { path: "small.bin", length: 100 },
  { path: "empty", length: 0 },
  { path: "big/one.bin", length: 700 },
  { path: ".pad/20", length: 20, padding: true },
  { path: "big/two.bin", length: 333 },
  { path: "tail.txt", length: 5 },
];
const t = fixture("tree", 64, SPECS);
const tree = () => t.files.map((f, i) => (SPECS[i]!.padding ? undefined : Buffer.from(f)));

describe("verifyTree", () => {
  it("passes a tree that is exactly the torrent, reading every byte once, in order", async () => {
    const reader = new MemoryTreeReader(tree());
    const r = await verifyTree(t.meta, reader, { chunkBytes: 128 });
    expect(r.ok).toBe(true);
    expect(r.pieces).toEqual({ planned: t.meta.pieceCount, good: t.meta.pieceCount, bad: 0, unchecked: 0 });
    expect(r.files.every((f) => f.status === "ok")).toBe(true);
    const read = reader.reads.reduce((n, x) => n + x.length, 0);
    expect(read).toBe(100 + 700 + 333 + 5);
    // Reads follow the torrent's order: file by file, offsets increasing.
    const order = reader.reads.map((x) => x.index * 1e6 + x.offset);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("keeps at most the read-ahead plus one chunk in flight", async () => {
    const big = fixture("big", 1024, [{ path: "a", length: 50_000 }, { path: "b", length: 30_000 }]);
    const reader = new MemoryTreeReader(big.files.map((f) => Buffer.from(f)));
    const r = await verifyTree(big.meta, reader, { chunkBytes: 4096, readAhead: 2 });
    expect(r.ok).toBe(true);
    expect(reader.maxInFlightBytes).toBeLessThanOrEqual(3 * 4096);
    expect(reader.reads.every((x) => x.length <= 4096)).toBe(true);
  });

  it("reports a flipped byte as a bad piece of the file that holds it", async () => {
    const files = tree();
    files[2]![300] ^= 0x01;
    const r = await verifyTree(t.meta, new MemoryTreeReader(files));
    expect(r.ok).toBe(false);
    const one = r.files.find((f) => f.path === "tree/big/one.bin")!;
    // Byte 300 of one.bin is byte 400 of the stream: piece 6, which lies inside one.bin.
    expect(one).toMatchObject({ status: "bad-pieces", badPieces: [6] });
    expect(r.files.filter((f) => f.status !== "ok").map((f) => f.path)).toEqual(["tree/big/one.bin"]);
    expect(r.pieces.bad).toBe(1);
  });

  it("reports a truncated file as of the wrong size, and its neighbour's shared piece as unchecked", async () => {
    const files = tree();
    files[2] = files[2]!.subarray(0, 650);
    const r = await verifyTree(t.meta, new MemoryTreeReader(files));
    expect(r.ok).toBe(false);
    expect(r.files[2]).toMatchObject({ status: "wrong-size", size: 650, length: 700, badPieces: [] });
    // one.bin ends at stream byte 800 (piece 12); pad and two.bin start in that piece too.
    expect(r.files[3]).toMatchObject({ path: "tree/big/two.bin", status: "unchecked", uncheckedPieces: [12], blockedBy: [2] });
  });

  it("reports a missing file, and an empty file that is missing", async () => {
    const files = tree();
    files[4] = undefined;
    files[1] = undefined;
    const r = await verifyTree(t.meta, new MemoryTreeReader(files));
    expect(r.files.map((f) => [f.path, f.status])).toEqual([
      ["tree/small.bin", "ok"],
      ["tree/empty", "missing"],
      ["tree/big/one.bin", "unchecked"],
      ["tree/big/two.bin", "missing"],
      ["tree/tail.txt", "unchecked"],
    ]);
    expect(r.files[3]!.size).toBeNull();
  });

  it("reports a file longer than the torrent says, whose pieces still match", async () => {
    const files = tree();
    files[5] = Buffer.concat([files[5]!, Buffer.from("extra")]);
    const r = await verifyTree(t.meta, new MemoryTreeReader(files));
    expect(r.files[4]).toMatchObject({ status: "wrong-size", size: 10, length: 5, badPieces: [] });
    expect(r.pieces.bad).toBe(0);
    expect(r.ok).toBe(false);
  });

  it("checks only the selected files, reading an unselected neighbour only for the pieces they share", async () => {
    const files = tree();
    files[0] = undefined;
    const reader = new MemoryTreeReader(files);
    // Number 3 is two.bin: its pieces start in one.bin's last piece (which holds padding too).
    const r = await verifyTree(t.meta, reader, { select: [3] });
    expect(r.ok).toBe(true);
    expect(r.selectedFiles).toBe(1);
    expect(r.files.filter((f) => f.selected).map((f) => f.path)).toEqual(["tree/big/two.bin"]);
    expect(reader.reads.filter((x) => x.index === 2)).toEqual([{ index: 2, offset: 668, length: 32 }]);
    expect(reader.reads.some((x) => x.index === 0)).toBe(false);
  });

  it("does not fail a selection for a shared piece whose unselected neighbour is not there", async () => {
    const files = tree();
    files[2] = undefined;
    const r = await verifyTree(t.meta, new MemoryTreeReader(files), { select: [0] });
    expect(r.ok).toBe(true);
    // small.bin's last piece (piece 1) holds one.bin's first bytes.
    expect(r.files[0]).toMatchObject({ status: "ok", uncheckedPieces: [1], blockedBy: [2] });
  });

  it("checks a single-file torrent", async () => {
    const single = fixture("one.iso", 32, [{ path: "one.iso", length: 1000 }], { single: true });
    expect((await verifyTree(single.meta, new MemoryTreeReader([Buffer.from(single.files[0]!)]))).ok).toBe(true);
    const bad = Buffer.from(single.files[0]!);
    bad[999] ^= 0xff;
    const r = await verifyTree(single.meta, new MemoryTreeReader([bad]));
    expect(r.files[0]).toMatchObject({ path: "one.iso", status: "bad-pieces", badPieces: [31] });
  });

  it("fails with the reader's error, leaving no read behind", async () => {
    const reader = new MemoryTreeReader(tree());
    reader.failAt = { index: 2, offset: 500 };
    await expect(verifyTree(t.meta, reader, { chunkBytes: 64 })).rejects.toThrow(/read failed on file 2/);
    expect(reader.inFlightBytes).toBe(0);
  });

  it("stops when aborted", async () => {
    const ac = new AbortController();
    ac.abort(new Error("stop now"));
    await expect(verifyTree(t.meta, new MemoryTreeReader(tree()), { signal: ac.signal })).rejects.toThrow(/stop now/);
  });

  it("reports progress up to the planned bytes", async () => {
    const seen: number[] = [];
    await verifyTree(t.meta, new MemoryTreeReader(tree()), { onProgress: (done, total) => seen.push(done / total) });
    expect(seen.at(-1)).toBe(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});
