import { randomBytes } from "node:crypto";
import { cp, mkdtemp, readFile, rm, truncate, writeFile, appendFile, open } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePayload, makeTorrent, startS3Server, type Payload, type S3Server } from "@shoal/testkit";
import { runCli } from "./cli-process.js";

const MiB = 1024 * 1024;
let scratch: string;
let data: string;
let payload: Payload;
let torrentPath: string;
let hybridPath: string;
let s3: S3Server;

// mktorrent sorts files: 0 a/empty.txt, 1 a/one.bin, 2 b/c/two.bin, 3 three.bin, 4 tiny.txt.
const FILES = [
  { path: "a/one.bin", size: 3 * MiB + 7 },
  { path: "a/empty.txt", size: 0 },
  { path: "b/c/two.bin", size: 6 * MiB + 1 },
  { path: "three.bin", size: 700_001 },
  { path: "tiny.txt", size: 1 },
];
const TOTAL = FILES.reduce((n, f) => n + f.size, 0);
const PIECE = 32 * 1024;
const PIECES = Math.ceil(TOTAL / PIECE);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "shoal-verify-"));
  data = join(scratch, "data");
  payload = await makePayload(data, { name: "mk", files: FILES });
  torrentPath = (await makeTorrent({ path: payload.root, out: join(scratch, "mk.torrent"), pieceLength: PIECE })).torrentPath;
  hybridPath = (await makeTorrent({ path: payload.root, out: join(scratch, "hybrid.torrent"), pieceLength: PIECE, tool: "libtorrent-hybrid" })).torrentPath;
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  await rm(scratch, { recursive: true, force: true });
});

function s3Env(extra: Record<string, string> = {}): Record<string, string> {
  return { SHOAL_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region, ...extra };
}

/** Text lines the CLI printed on stdout. */
function lines(r: { events: Record<string, unknown>[] }): string[] {
  return r.events.map((e) => String(e["line"] ?? JSON.stringify(e)));
}

/** The same damage, done to a directory tree or to objects in a bucket. */
interface Tree {
  /** What to pass to --in. */
  readonly in: string;
  readonly env: Record<string, string>;
  flipByte(path: string, offset: number): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  remove(path: string): Promise<void>;
  append(path: string, bytes: Buffer): Promise<void>;
}

/** A copy of the payload as `shoal get --out DIR` leaves it: DIR/mk/... */
async function dirTree(): Promise<Tree> {
  const dir = await mkdtemp(join(scratch, "tree-"));
  await cp(payload.root, join(dir, "mk"), { recursive: true });
  const at = (p: string) => join(dir, "mk", p);
  return {
    in: dir,
    env: {},
    async flipByte(p, offset) {
      const fh = await open(at(p), "r+");
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, offset);
      b[0]! ^= 0x20;
      await fh.write(b, 0, 1, offset);
      await fh.close();
    },
    truncate: (p, size) => truncate(at(p), size),
    remove: (p) => rm(at(p)),
    append: (p, bytes) => appendFile(at(p), bytes),
  };
}

/** The payload as `shoal get --out s3://BUCKET/PREFIX` leaves it: PREFIX/mk/... in a fresh bucket. */
async function bucketTree(): Promise<Tree> {
  const bucket = `verify-${randomBytes(5).toString("hex")}`;
  await s3.createBucket(bucket);
  const key = (p: string) => `dl/mk/${p}`;
  for (const f of FILES) await s3.putObject(bucket, key(f.path), await readFile(join(payload.root, f.path)));
  return {
    in: `s3://${bucket}/dl`,
    env: s3Env(),
    async flipByte(p, offset) {
      const body = await s3.getObject(bucket, key(p));
      body[offset]! ^= 0x20;
      await s3.putObject(bucket, key(p), body);
    },
    truncate: async (p, size) => s3.putObject(bucket, key(p), (await s3.getObject(bucket, key(p))).subarray(0, size)),
    remove: (p) => s3.deleteObject(bucket, key(p)),
    append: async (p, bytes) => s3.putObject(bucket, key(p), Buffer.concat([await s3.getObject(bucket, key(p)), bytes])),
  };
}

for (const [kind, makeTree] of [
  ["a directory", dirTree],
  ["a bucket", bucketTree],
] as const) {
  describe(`shoal verify on ${kind}`, () => {
    it("passes the tree shoal get leaves, with one line", async () => {
      const t = await makeTree();
      const r = await runCli(["verify", torrentPath, "--in", t.in], 60_000, t.env);
      expect(r.code, r.stderr).toBe(0);
      expect(lines(r)).toEqual([`all 5 files match (9.7 MiB, ${PIECES} pieces)`]);
      expect(r.stderr).toBe("");
    });

    it("reports a flipped byte as a bad piece of its file", async () => {
      const t = await makeTree();
      await t.flipByte("b/c/two.bin", 4 * MiB + 5);
      const r = await runCli(["verify", torrentPath, "--in", t.in], 60_000, t.env);
      expect(r.code, r.stderr).toBe(1);
      // two.bin starts at stream byte 3 MiB + 7, so its byte 4 MiB + 5 is in piece floor((7 MiB + 12) / 32 KiB).
      const piece = Math.floor((7 * MiB + 12) / PIECE);
      expect(lines(r)).toEqual([`mk/b/c/two.bin: 1 bad piece of 193 (piece ${piece})`, `1 of 5 files do not match (1 with bad pieces); 1 of ${PIECES} pieces bad`]);
    });

    it("reports a truncated file", async () => {
      const t = await makeTree();
      await t.truncate("three.bin", 500_000);
      const r = await runCli(["verify", torrentPath, "--in", t.in], 60_000, t.env);
      expect(r.code, r.stderr).toBe(1);
      expect(lines(r)).toContain("mk/three.bin: wrong size: 500000 bytes, expected 700001 (200001 bytes short)");
      expect(lines(r).at(-1)).toMatch(/^1 of 5 files do not match \(1 of the wrong size\), 1 could not be fully checked; 0 of \d+ pieces bad, \d+ not checked$/);
    });

    it("reports a missing file", async () => {
      const t = await makeTree();
      await t.remove("a/one.bin");
      const r = await runCli(["verify", torrentPath, "--in", t.in], 60_000, t.env);
      expect(r.code, r.stderr).toBe(1);
      expect(lines(r)[0]).toBe("mk/a/one.bin: missing");
      // two.bin's first piece also holds one.bin's last bytes, so it cannot be checked.
      expect(lines(r)).toContain("mk/b/c/two.bin: not fully checked: 1 piece shared with mk/a/one.bin, which is missing or too short");
      expect(lines(r).at(-1)).toMatch(/^1 of 5 files do not match \(1 missing\)/);
    });

    it("reports a file longer than the torrent says", async () => {
      const t = await makeTree();
      await t.append("tiny.txt", Buffer.from("0123456789"));
      const r = await runCli(["verify", torrentPath, "--in", t.in], 60_000, t.env);
      expect(r.code, r.stderr).toBe(1);
      expect(lines(r)).toEqual(["mk/tiny.txt: wrong size: 11 bytes, expected 1 (10 bytes too many)", `1 of 5 files do not match (1 of the wrong size); 0 of ${PIECES} pieces bad`]);
    });

    it("prints one JSON object with --json", async () => {
      const t = await makeTree();
      await t.remove("a/empty.txt");
      await t.flipByte("a/one.bin", 0);
      const r = await runCli(["verify", torrentPath, "--in", t.in, "--json"], 60_000, t.env);
      expect(r.code, r.stderr).toBe(1);
      expect(r.events).toHaveLength(1);
      const j = r.events[0] as { ok: boolean; name: string; location: string; pieces: Record<string, number>; files: { index: number; path: string; status: string; size: number | null; badPieces: number[] }[] };
      expect(j.ok).toBe(false);
      expect(j.name).toBe("mk");
      expect(j.location).toMatch(kind === "a bucket" ? /^s3:\/\/verify-[0-9a-f]+\/dl\/mk$/ : /\/tree-\w+\/mk$/);
      expect(j.pieces).toEqual({ planned: PIECES, good: PIECES - 1, bad: 1, unchecked: 0 });
      expect(j.files.map((f) => [f.index, f.path, f.status, f.size])).toEqual([
        [0, "mk/a/empty.txt", "missing", null],
        [1, "mk/a/one.bin", "bad-pieces", 3 * MiB + 7],
        [2, "mk/b/c/two.bin", "ok", 6 * MiB + 1],
        [3, "mk/three.bin", "ok", 700_001],
        [4, "mk/tiny.txt", "ok", 1],
      ]);
      expect(j.files[1]!.badPieces).toEqual([0]);
    });

    it("checks only the selected files with --select", async () => {
      const t = await makeTree();
      await t.remove("a/one.bin");
      const r = await runCli(["verify", torrentPath, "--in", t.in, "--select", "3-4"], 60_000, t.env);
      expect(r.code, r.stderr).toBe(0);
      expect(lines(r)).toEqual([`all 2 files match (683.6 KiB, 22 pieces; 2 of 5 files selected)`]);
    });
  });
}

describe("shoal verify, more", () => {
  it("checks a torrent with BEP 47 padding files (libtorrent's hybrid torrents), padding as zeros", async () => {
    const t = await dirTree();
    expect((await runCli(["verify", hybridPath, "--in", t.in], 60_000)).code).toBe(0);
    await t.flipByte("tiny.txt", 0);
    const r = await runCli(["verify", hybridPath, "--in", t.in], 60_000);
    expect(r.code).toBe(1);
    expect(lines(r)[0]).toMatch(/^mk\/tiny\.txt: 1 bad piece of 1 \(piece \d+\)$/);
  });

  it("reads the torrent from an http URL", async () => {
    const bytes = await readFile(torrentPath);
    const server = createServer((_req, res) => res.writeHead(200).end(bytes));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const t = await dirTree();
      const r = await runCli(["verify", `http://127.0.0.1:${(server.address() as { port: number }).port}/mk.torrent`, "--in", t.in], 60_000);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      server.close();
    }
  });

  it("says every file is missing when the directory holds nothing of the torrent", async () => {
    const empty = await mkdtemp(join(scratch, "empty-"));
    const r = await runCli(["verify", torrentPath, "--in", empty], 60_000);
    expect(r.code).toBe(1);
    expect(lines(r).filter((l) => l.endsWith(": missing"))).toHaveLength(5);
  });

  const bad: [string, () => Promise<{ args: string[]; env?: Record<string, string> }>, RegExp][] = [
    ["a directory that does not exist", async () => ({ args: ["--in", join(scratch, "nope")] }), /directory .*\/nope does not exist/],
    ["a file given as the directory", async () => ({ args: ["--in", torrentPath] }), /mk\.torrent is not a directory/],
    ["a bucket that does not exist", async () => ({ args: ["--in", "s3://no-such-bucket-at-all/dl"], env: s3Env() }), /bucket no-such-bucket-at-all does not exist on http:\/\/127\.0\.0\.1:\d+/],
    ["an endpoint nobody listens on", async () => ({ args: ["--in", "s3://bucket/dl", "--s3", "http://127.0.0.1:1"], env: s3Env() }), /S3 endpoint http:\/\/127\.0\.0\.1:1 is unreachable/],
    ["missing credentials", async () => ({ args: ["--in", "s3://bucket/dl"], env: s3Env({ AWS_SECRET_ACCESS_KEY: "" }) }), /AWS_SECRET_ACCESS_KEY is not set/],
    ["a bad destination URL", async () => ({ args: ["--in", "s3://x/dl"] }), /"x" is not a valid bucket name/],
    ["a missing --in", async () => ({ args: [] }), /--in DIR or --in s3:\/\/BUCKET\/PREFIX is required/],
    ["a get option", async () => ({ args: ["--in", "/tmp", "--port", "1"] }), /--port is an option of get, not of verify/],
    ["a file number the torrent does not have", async () => ({ args: ["--in", scratch, "--select", "7"] }), /file 7 does not exist/],
  ];
  for (const [what, setup, message] of bad) {
    it(`exits 2 naming ${what}`, async () => {
      const { args, env } = await setup();
      const started = Date.now();
      const r = await runCli(["verify", torrentPath, ...args], 30_000, env ?? {});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(Date.now() - started).toBeLessThan(15_000);
    });
  }

  it("exits 2 naming a torrent file that is not there", async () => {
    const r = await runCli(["verify", join(scratch, "none.torrent"), "--in", scratch], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/none\.torrent: no such file/);
  });

  // Root reads every file whatever its mode, so this can only be seen as another user.
  it.skipIf(process.getuid?.() === 0)("an unreadable tree fails with exit status 1 and the reason", async () => {
    const t = await dirTree();
    await writeFile(join(t.in, "mk", "tiny.txt"), "x", { mode: 0o000 });
    const r = await runCli(["verify", torrentPath, "--in", t.in], 30_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EACCES/);
  });
});
