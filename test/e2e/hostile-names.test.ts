import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { SYSTEM_PYTHON, runProcess, seededBytes, startLibtorrentSeed, startOpentracker, type LibtorrentPeer, type Opentracker } from "@shoal/testkit";
import { runCli } from "./cli-process.js";

// Torrents with hostile names, built byte by byte here because no torrent tool writes such names.
// They are seeded by real libtorrent, which sanitises paths in its own way, so the seed's files
// are laid out where libtorrent says it looks for them; shoal's own layout is checked against
// names written out by hand below.

const PIECE_LENGTH = 16 * 1024;

interface SourceFile {
  /** Path components exactly as the torrent holds them. */
  readonly path: readonly string[];
  readonly data: Buffer;
  /** Where shoal must put it, below `<out>/<sanitised name>`, joined with "/". */
  readonly expected: string;
}

/** Deterministic bytes, so a misplaced block fails a piece hash. */
function bytes(length: number, seed: number): Buffer {
  return Buffer.from(seededBytes(seed)(length));
}

function sha1(data: Uint8Array): Buffer {
  return createHash("sha1").update(data).digest();
}

function piecesOf(files: readonly SourceFile[]): Buffer {
  const stream = Buffer.concat(files.map((f) => f.data));
  const hashes: Buffer[] = [];
  for (let at = 0; at < stream.length; at += PIECE_LENGTH) hashes.push(sha1(stream.subarray(at, at + PIECE_LENGTH)));
  return Buffer.concat(hashes);
}

/** A dict written with its keys in exactly this order; the values are bencoded already. */
function dictInOrder(entries: readonly (readonly [key: string, encoded: Uint8Array])[]): Buffer {
  return Buffer.concat([Buffer.from("d"), ...entries.flatMap(([key, value]) => [encode(key), value]), Buffer.from("e")]);
}

/** A list of values that are bencoded already. */
function listOf(encoded: readonly Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.from("l"), ...encoded, Buffer.from("e")]);
}

/** Lists every file and directory below `root`, as "/"-joined paths relative to it. */
async function listTree(root: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(root, full).split(sep).join("/");
      if (entry.isDirectory()) {
        dirs.push(rel);
        await walk(full);
      } else files.push(rel);
    }
  };
  await walk(root);
  return { files: files.sort(), dirs: dirs.sort() };
}

/** Where libtorrent looks for each file of a torrent, and the v1 info hash it computes. */
async function libtorrentView(torrentPath: string): Promise<{ infoHash: string; paths: string[] }> {
  const script = [
    "import json, sys, libtorrent as lt",
    "ti = lt.torrent_info(sys.argv[1])",
    "fs = ti.files()",
    "print(json.dumps({'infoHash': str(ti.info_hashes().v1), 'paths': [fs.file_path(i) for i in range(fs.num_files())]}))",
  ].join("\n");
  const r = await runProcess(SYSTEM_PYTHON, ["-c", script, torrentPath], { timeoutMs: 30_000, check: true });
  return JSON.parse(r.stdout) as { infoHash: string; paths: string[] };
}

interface Run {
  readonly dir: string;
  readonly tracker: Opentracker;
  seed?: LibtorrentPeer;
}
let run: Run | undefined;
afterEach(async () => {
  await run?.seed?.stop();
  await run?.tracker.stop();
  if (run) await rm(run.dir, { recursive: true, force: true });
  run = undefined;
});

/**
 * Writes the torrent `makeInfo` builds (given the tracker's URL), seeds it from real libtorrent
 * and downloads it with the shoal CLI into `<dir>/parent/l1/l2/out`: three levels below a fresh
 * parent, so any path that climbs out of the output directory lands somewhere the test lists.
 */
async function seedAndDownload(files: readonly SourceFile[], makeInfo: (pieces: Buffer) => Buffer) {
  const dir = await mkdtemp(join(tmpdir(), "shoal-e2e-names-"));
  const tracker = await startOpentracker({ infoHashes: [] });
  run = { dir, tracker };
  const infoBytes = makeInfo(piecesOf(files));
  const infoHashHex = sha1(infoBytes).toString("hex");
  const torrentPath = join(dir, "hostile.torrent");
  await writeFile(torrentPath, dictInOrder([["announce", encode(tracker.httpAnnounce)], ["info", infoBytes]]));
  await tracker.allow([infoHashHex]);

  const lt = await libtorrentView(torrentPath);
  expect(lt.infoHash).toBe(infoHashHex);
  const seedDir = join(dir, "seed");
  for (const [i, path] of lt.paths.entries()) {
    const target = resolve(seedDir, path);
    expect(target.startsWith(seedDir + sep), `libtorrent path ${path}`).toBe(true);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, files[i]!.data);
  }
  run.seed = await startLibtorrentSeed({ torrentPath, dataDir: seedDir });
  await run.seed.ready;

  const parent = join(dir, "parent");
  const out = join(parent, "l1", "l2", "out");
  const r = await runCli(["get", torrentPath, "--out", out, "--port", "0", "--json", "--log-level", "warn"], 90_000);
  return { r, dir, parent, out, infoHashHex };
}

describe("a torrent with hostile names", () => {
  it("is downloaded under sanitised names inside the output directory, and nothing is written outside it", { timeout: 150_000 }, async () => {
    const name = "../up/..\\na<me>?";
    const sanitisedName = ".._up_.._na_me__";
    const files: SourceFile[] = [
      { path: ["..", "..", "escape.txt"], data: bytes(20_000, 1), expected: "escape.txt" },
      { path: ["dir", "a/b\\c.txt"], data: bytes(7_000, 2), expected: "dir/a_b_c.txt" },
      // Sanitises to the same path as the file before it, so it is renamed.
      { path: ["dir", "a:b|c.txt"], data: bytes(9_000, 3), expected: "dir/a_b_c.1.txt" },
      { path: ["/etc", "passwd"], data: bytes(3_000, 4), expected: "_etc/passwd" },
      { path: ["C:", "Windows", "system.ini"], data: bytes(16_384, 5), expected: "C_/Windows/system.ini" },
      { path: ['bad<>"|?*\u0001\u007fname.bin'], data: bytes(1, 6), expected: "bad________name.bin" },
      // 300 UTF-8 bytes: cut to 254 at a character boundary, keeping the extension.
      { path: [`${"é".repeat(148)}.dat`], data: bytes(40_000, 7), expected: `${"é".repeat(125)}.dat` },
      { path: ["x".repeat(300)], data: bytes(12_345, 8), expected: "x".repeat(255) },
      { path: ["sub", ".", "nul.txt"], data: bytes(5_000, 9), expected: "sub/_nul.txt" },
      { path: ["..", "."], data: bytes(2_500, 10), expected: "_" },
      { path: ["empty", "zero. "], data: Buffer.alloc(0), expected: "empty/zero" },
    ];
    expect(Buffer.byteLength(files[6]!.path[0]!)).toBe(300);

    const { r, dir, parent, infoHashHex } = await seedAndDownload(files, (pieces) =>
      Buffer.from(encode({ files: files.map((f) => ({ length: f.data.length, path: [...f.path] })), name, "piece length": PIECE_LENGTH, pieces })),
    );
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const done = r.events.find((e) => e["event"] === "completed");
    expect(done?.["infoHash"]).toBe(infoHashHex);
    expect(done?.["name"]).toBe(sanitisedName);

    // (a) Every file is at its sanitised path under <out>/<sanitised name>, with its bytes.
    const top = join("l1", "l2", "out", sanitisedName).split(sep).join("/");
    for (const f of files) {
      const got = await readFile(join(parent, top, ...f.expected.split("/")));
      expect(got.equals(f.data), `${f.expected} has the torrent's bytes`).toBe(true);
    }

    // (b) Nothing else exists anywhere below the fresh parent: no file and no directory.
    const tree = await listTree(parent);
    expect(tree.files).toEqual(files.map((f) => `${top}/${f.expected}`).sort());
    const expectedDirs = new Set(["l1", "l1/l2", "l1/l2/out", top]);
    for (const f of files) {
      const parts = f.expected.split("/");
      for (let i = 1; i < parts.length; i++) expectedDirs.add(`${top}/${parts.slice(0, i).join("/")}`);
    }
    expect(tree.dirs).toEqual([...expectedDirs].sort());
    // A climb of four levels from <out>/<name> would land next to the torrent file.
    expect((await readdir(dir)).sort()).toEqual(["hostile.torrent", "parent", "seed"]);
  });
});

describe("a torrent whose info dict has keys out of order", () => {
  it("downloads under the info hash of its raw bytes, the one libtorrent and the tracker use", { timeout: 150_000 }, async () => {
    const files: SourceFile[] = [
      { path: ["a.bin"], data: bytes(30_000, 11), expected: "a.bin" },
      { path: ["b", "c.bin"], data: bytes(9_999, 12), expected: "b/c.bin" },
    ];
    const { r, parent, infoHashHex } = await seedAndDownload(files, (pieces) =>
      dictInOrder([
        ["piece length", encode(PIECE_LENGTH)],
        ["name", encode("unsorted")],
        ["pieces", encode(pieces)],
        ["files", listOf(files.map((f) => dictInOrder([["path", encode([...f.path])], ["length", encode(f.data.length)]])))],
      ]),
    );
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    expect(r.events.find((e) => e["event"] === "completed")?.["infoHash"]).toBe(infoHashHex);
    for (const f of files) {
      const got = await readFile(join(parent, "l1", "l2", "out", "unsorted", ...f.expected.split("/")));
      expect(got.equals(f.data)).toBe(true);
    }
  });
});
