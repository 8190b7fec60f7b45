import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  SYSTEM_PYTHON,
  TestkitError,
  makePayload,
  makeTorrent,
  readTorrentFile,
  runProcess,
  sha256File,
} from "../src/index.js";

/** The piece hashes as python-libtorrent reads them, an independent decoder of the file. */
async function pieceHashes(torrentPath: string): Promise<string> {
  const script = "import sys, libtorrent as lt; t = lt.torrent_info(sys.argv[1]); print(''.join(bytes(t.hash_for_piece(i)).hex() for i in range(t.num_pieces())))";
  const res = await runProcess(SYSTEM_PYTHON, ["-c", script, torrentPath], { timeoutMs: 20_000, check: true });
  return res.stdout.trim();
}

describe("makePayload", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "testkit-payload-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the same bytes for the same seed and different bytes for another seed", async () => {
    const a = await makePayload(join(dir, "a"), { name: "p.bin", size: 3_000_001, seed: "one" });
    const b = await makePayload(join(dir, "b"), { name: "p.bin", size: 3_000_001, seed: "one" });
    const c = await makePayload(join(dir, "c"), { name: "p.bin", size: 3_000_001, seed: "two" });
    expect(a.files).toEqual(b.files);
    expect(a.files[0]?.sha256).not.toBe(c.files[0]?.sha256);
    expect(a.totalBytes).toBe(3_000_001);
    expect(await sha256File(a.root)).toBe(a.files[0]?.sha256);
  });

  it("lays out a multi-file payload under its name with paths relative to the given directory", async () => {
    const p = await makePayload(dir, {
      name: "tree",
      files: [
        { path: "x.bin", size: 10 },
        { path: "d/e/y.bin", size: 0 },
        { path: "d/z.bin", size: 70_000 },
      ],
    });
    expect(p.root).toBe(join(dir, "tree"));
    expect(p.files.map((f) => f.path)).toEqual(["tree/x.bin", "tree/d/e/y.bin", "tree/d/z.bin"]);
    for (const f of p.files) expect(await sha256File(join(dir, f.path))).toBe(f.sha256);
    expect(p.totalBytes).toBe(70_010);
  });

  it("refuses paths that would leave the payload directory", async () => {
    await expect(makePayload(dir, { name: "t", files: [{ path: "../evil", size: 1 }] })).rejects.toMatchObject({
      code: "BAD_ARGUMENT",
    });
    await expect(makePayload(dir, { name: "t", size: 1, files: [] })).rejects.toBeInstanceOf(TestkitError);
  });
});

describe("makeTorrent", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "testkit-torrent-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const tiers = [["http://127.0.0.1:1/announce", "http://127.0.0.2:1/announce"], ["udp://127.0.0.1:2/announce"]];

  it("gives the same v1 piece hashes with mktorrent and libtorrent, each with its own layout of the file", async () => {
    const p = await makePayload(dir, {
      name: "multi",
      files: [
        { path: "a.bin", size: 100_000 },
        { path: "sub/b.bin", size: 50_000 },
      ],
    });
    const mk = await makeTorrent({ path: p.root, out: join(dir, "mk.torrent"), announce: tiers, pieceLength: 32 * 1024 });
    const lt = await makeTorrent({
      path: p.root,
      out: join(dir, "lt.torrent"),
      announce: tiers,
      pieceLength: 32 * 1024,
      tool: "libtorrent",
    });
    for (const t of [mk, lt]) {
      expect(t.summary.announceTiers).toEqual(tiers);
      expect(t.summary.pieceCount).toBe(Math.ceil(150_000 / 32_768));
      expect(t.summary.files.map((f) => [f.path, f.size])).toEqual([
        ["multi/a.bin", 100_000],
        ["multi/sub/b.bin", 50_000],
      ]);
      expect(t.announceHashes).toEqual([t.infoHashHex]);
    }
    const hashes = await pieceHashes(mk.torrentPath);
    expect(hashes).toHaveLength(40 * mk.summary.pieceCount);
    expect(await pieceHashes(lt.torrentPath)).toBe(hashes);
  });

  it("makes a hybrid v1+v2 torrent with padding files and two announce hashes", async () => {
    const p = await makePayload(dir, {
      name: "multi",
      files: [
        { path: "a.bin", size: 40_000 },
        { path: "b.bin", size: 40_000 },
      ],
    });
    const t = await makeTorrent({
      path: p.root,
      out: join(dir, "h.torrent"),
      announce: [["http://127.0.0.1:1/announce"]],
      pieceLength: 32 * 1024,
      tool: "libtorrent-hybrid",
      private: true,
    });
    expect(t.infoHashV2Hex).toMatch(/^[0-9a-f]{64}$/);
    expect(t.announceHashes).toEqual([t.infoHashHex, t.infoHashV2Hex?.slice(0, 40)]);
    expect(t.summary.private).toBe(true);
    const pads = t.summary.files.filter((f) => f.pad);
    expect(pads.length).toBeGreaterThan(0);
    // Every real file starts on a piece boundary.
    let offset = 0;
    for (const f of t.summary.files) {
      if (!f.pad) expect(offset % t.summary.pieceLength).toBe(0);
      offset += f.size;
    }
  });

  it("takes the info hash from the raw bytes of the info dictionary", async () => {
    const p = await makePayload(dir, { name: "one.bin", size: 5000 });
    const t = await makeTorrent({ path: p.root, out: join(dir, "o.torrent"), pieceLength: 32 * 1024 });
    const again = await readTorrentFile(t.torrentPath);
    expect(again.infoHashHex).toBe(t.infoHashHex);
    expect(t.summary.announceTiers).toEqual([]);
    expect(t.summary.files).toEqual([{ path: "one.bin", size: 5000, pad: false }]);
  });

  it("refuses a piece length that is not a power of two the tool can write", async () => {
    const p = await makePayload(dir, { name: "one.bin", size: 10 });
    for (const pieceLength of [1000, 8 * 1024, 3 * 16 * 1024, 16 * 1024]) {
      await expect(makeTorrent({ path: p.root, out: join(dir, "x.torrent"), pieceLength })).rejects.toMatchObject({
        code: "BAD_ARGUMENT",
      });
    }
    // libtorrent writes 16 KiB pieces (one block each), mktorrent starts at 32 KiB.
    const small = await makeTorrent({ path: p.root, out: join(dir, "s.torrent"), pieceLength: 16 * 1024, tool: "libtorrent" });
    expect(small.summary.pieceLength).toBe(16 * 1024);
  });
});
