import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileSpansOfPiece, parseMetainfo, pieceHash, relativeFilePath } from "../src/index.js";
import type { Metainfo } from "../src/index.js";
import { concat, expectMetainfoError, payload, sha1 } from "./fixtures.js";

/**
 * Torrents written by real tools: mktorrent (v1) and libtorrent 2.0 through its Python binding
 * (v1, hybrid v1+v2 with pad files, v2-only). The info hash must match libtorrent's and every
 * piece must hash-check against the payload read through fileSpansOfPiece.
 */
const MKTORRENT = "/usr/bin/mktorrent";
const PYTHON = "/usr/bin/python3";
const hasMktorrent = existsSync(MKTORRENT);
const hasLibtorrent = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import libtorrent"]).status === 0;
const NO_MKTORRENT = `(skipped: ${MKTORRENT} is not installed)`;
const NO_LIBTORRENT = `(skipped: ${PYTHON} with the libtorrent module is not installed)`;

/** Reads a torrent with libtorrent and reports its v1 info hash and file layout as JSON. */
const LT_INSPECT = `
import json, sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
files = [{"path": fs.file_path(i), "size": fs.file_size(i), "offset": fs.file_offset(i),
          "pad": bool(fs.file_flags(i) & fs.flag_pad_file)} for i in range(fs.num_files())]
print(json.dumps({"v1": str(ti.info_hashes().v1), "pieces": ti.num_pieces(), "files": files}))
`;

/** Creates a torrent of sys.argv[1] (relative to the cwd) with libtorrent. */
const LT_CREATE = `
import sys, libtorrent as lt
flags = {"v1": lt.create_torrent.v1_only, "hybrid": 0, "v2": lt.create_torrent.v2_only}[sys.argv[2]]
fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, 16384, flags=flags)
ct.add_tracker("http://127.0.0.1:1/announce", 0)
ct.add_tracker("udp://127.0.0.1:2/announce", 1)
lt.set_piece_hashes(ct, ".")
open(sys.argv[3], "wb").write(lt.bencode(ct.generate()))
`;

interface LtView {
  v1: string;
  pieces: number;
  files: Array<{ path: string; size: number; offset: number; pad: boolean }>;
}

let work = "";

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: work, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

function inspect(torrentPath: string): LtView {
  return JSON.parse(run(PYTHON, ["-c", LT_INSPECT, torrentPath])) as LtView;
}

/** Every piece, read from the payload on disk (pad files as zeros), matches its hash. */
function expectPiecesHashCheck(m: Metainfo): void {
  for (let p = 0; p < m.pieceCount; p++) {
    const parts = fileSpansOfPiece(m, p).map((span) => {
      const file = m.files[span.fileIndex]!;
      if (file.padding) return new Uint8Array(span.length);
      const data = readFileSync(join(work, relativeFilePath(m, file)));
      return data.subarray(span.fileOffset, span.fileOffset + span.length);
    });
    expect(sha1(concat(...parts)), `piece ${p}`).toEqual(pieceHash(m, p));
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "shoal-metainfo-"));
  const files: Array<[string, Uint8Array]> = [
    ["payload/a.bin", payload(100_000, 11)],
    ["payload/empty", new Uint8Array(0)],
    ["payload/sub/b.txt", payload(5_000, 12)],
    ["payload/sub/deeper/c.dat", payload(32_768, 13)],
    ["single.bin", payload(70_001, 14)],
  ];
  for (const [path, data] of files) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), data);
  }
});

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

describe("torrents made by mktorrent", () => {
  it.skipIf(!hasMktorrent)(`multi-file: fields, layout and pieces match ${hasMktorrent ? "" : NO_MKTORRENT}`, () => {
    run(MKTORRENT, ["-a", "http://127.0.0.1:1/a,http://127.0.0.1:2/a", "-a", "udp://127.0.0.1:3", "-c", "made by mktorrent", "-l", "15", "-o", "mk-multi.torrent", "payload"]);
    const m = parseMetainfo(readFileSync(join(work, "mk-multi.torrent")));
    expect(m.name).toBe("payload");
    expect(m.multiFile).toBe(true);
    expect(m.pieceLength).toBe(32_768);
    expect(m.totalLength).toBe(137_768);
    expect(m.files.map((f) => f.path.join("/")).sort()).toEqual(["a.bin", "empty", "sub/b.txt", "sub/deeper/c.dat"]);
    expect(m.announceList).toEqual([["http://127.0.0.1:1/a", "http://127.0.0.1:2/a"], ["udp://127.0.0.1:3"]]);
    expect(m.comment).toBe("made by mktorrent");
    expect(m.createdBy).toMatch(/mktorrent/);
    expect(m.private).toBe(false);
    expectPiecesHashCheck(m);
    if (hasLibtorrent) expect(m.infoHashHex).toBe(inspect("mk-multi.torrent").v1);
  });

  it.skipIf(!hasMktorrent)(`single-file, private, with a web seed ${hasMktorrent ? "" : NO_MKTORRENT}`, () => {
    run(MKTORRENT, ["-a", "http://127.0.0.1:1/a", "-p", "-w", "http://127.0.0.1:4/single.bin", "-l", "16", "-o", "mk-single.torrent", "single.bin"]);
    const m = parseMetainfo(readFileSync(join(work, "mk-single.torrent")));
    expect(m.name).toBe("single.bin");
    expect(m.multiFile).toBe(false);
    expect(m.files).toEqual([{ index: 0, path: [], length: 70_001, offset: 0, padding: false }]);
    expect(m.pieceCount).toBe(2);
    expect(m.lastPieceLength).toBe(70_001 - 65_536);
    expect(m.private).toBe(true);
    expect(m.urlList).toEqual(["http://127.0.0.1:4/single.bin"]);
    expectPiecesHashCheck(m);
    if (hasLibtorrent) expect(m.infoHashHex).toBe(inspect("mk-single.torrent").v1);
  });
});

describe("torrents made by libtorrent", () => {
  for (const kind of ["v1", "hybrid"] as const) {
    it.skipIf(!hasLibtorrent)(`${kind}: info hash and file layout match libtorrent, pieces hash-check ${hasLibtorrent ? "" : NO_LIBTORRENT}`, () => {
      const file = `lt-${kind}.torrent`;
      run(PYTHON, ["-c", LT_CREATE, "payload", kind, file]);
      const m = parseMetainfo(readFileSync(join(work, file)));
      const lt = inspect(file);
      expect(m.infoHashHex).toBe(lt.v1);
      expect(m.pieceCount).toBe(lt.pieces);
      expect(m.files.map((f) => ({ path: relativeFilePath(m, f), size: f.length, offset: f.offset, pad: f.padding }))).toEqual(lt.files);
      expect(m.announceList).toEqual([["http://127.0.0.1:1/announce"], ["udp://127.0.0.1:2/announce"]]);
      if (kind === "hybrid") expect(m.files.some((f) => f.padding)).toBe(true);
      expectPiecesHashCheck(m);
    });
  }

  it.skipIf(!hasLibtorrent)(`v2-only torrents are refused with V2_ONLY ${hasLibtorrent ? "" : NO_LIBTORRENT}`, () => {
    run(PYTHON, ["-c", LT_CREATE, "payload", "v2", "lt-v2.torrent"]);
    expectMetainfoError(() => parseMetainfo(readFileSync(join(work, "lt-v2.torrent"))), "V2_ONLY", "v2-only");
  });
});
