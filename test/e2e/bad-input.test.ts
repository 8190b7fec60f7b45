import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-bad-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function torrentFile(name: string, bytes: string | Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

describe("malformed input gets a clear error and exit status 2", () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ["truncated", "d8:announce3:abc4:info", /end|truncat/i],
    ["negative string length", "d8:announce-3:abce", /negative string length at byte 11/],
    ["deep nesting", `d1:a${"l".repeat(100_000)}`, /depth|nest/i],
    ["no info dict", "d8:announce14:http://x/anncee", /info/],
    ["a path component that is not a string", `d4:infod5:filesld6:lengthi5e4:pathli5eeee4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee`, /path\[0\]: expected a byte string/],
    ["pieces length mismatch", "d4:infod6:lengthi99999e4:name5:a.bin12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee", /pieces/],
    ["duplicate keys in info", "d4:infod6:lengthi5e6:lengthi5e4:name5:a.bin12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee", /duplicate/i],
  ];
  for (const [what, bytes, message] of cases) {
    it(`rejects a torrent with ${what}`, async () => {
      const p = await torrentFile(`${what.replace(/\W/g, "_")}.torrent`, bytes);
      const r = await runCli(["get", p, "--out", join(dir, "out"), "--port", "0"], 30_000);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    });
  }

  const notTorrents: [string, string | Buffer][] = [
    ["text", "hello world"],
    ["an empty file", ""],
    ["an HTML page", "<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n"],
    ["a PNG image", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
    ["a bencoded list", "l4:spam4:eggse"],
  ];
  for (const [what, bytes] of notTorrents) {
    it(`says ${what} is not a .torrent file, without a byte offset`, async () => {
      const p = await torrentFile(`${what.replace(/\W/g, "_")}.torrent`, bytes);
      const r = await runCli(["get", p, "--out", join(dir, "out"), "--port", "0"], 30_000);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`shoal: ${p}: not a .torrent file (expected a bencoded dictionary)\n`);
    });
  }

  it("names a missing torrent file", async () => {
    const r = await runCli(["get", join(dir, "nope.torrent"), "--out", dir, "--port", "0"], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.torrent: no such file/);
  });

  it("explains usage errors", async () => {
    const r = await runCli(["get", "x.torrent"], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out DIR is required/);
  });
});

describe("torrents that cannot be downloaded", () => {
  it("names the problem when a torrent has no usable tracker and the DHT is off", async () => {
    const info = "d6:lengthi5e4:name5:a.bin12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
    const p = await torrentFile("trackerless.torrent", `d8:announce18:wss://example/test4:info${info}e`);
    const r = await runCli(["get", p, "--out", join(dir, "out"), "--port", "0", "--no-dht"], 30_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no HTTP or UDP tracker.*the DHT is off/);
  });
});

describe("a destination that cannot be written", () => {
  it("fails with the storage error instead of hanging, and says which path", async () => {
    const { startSwarm } = await import("./swarm.js");
    const { mkdir } = await import("node:fs/promises");
    const s = await startSwarm({
      payload: { name: "blocked", files: [{ path: "a/one.bin", size: 300_000 }, { path: "two.bin", size: 5000 }] },
      pieceLength: 32 * 1024,
      tracker: "http",
      seeds: 1,
    });
    try {
      // A regular file where the torrent's directory must go.
      await mkdir(s.out, { recursive: true });
      await writeFile(join(s.out, "blocked"), "in the way");
      const r = await runCli(["get", s.torrentPath, "--out", s.out, "--port", "0"], 60_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/blocked/);
      expect(r.stderr).toMatch(/ENOTDIR|EEXIST|not a directory/i);
    } finally {
      await s.close();
    }
  });
});
