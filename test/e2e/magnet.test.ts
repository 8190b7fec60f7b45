import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "@shoal/testkit";
import { runCli, startCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MiB = 1024 * 1024;

/**
 * Magnet links against real libtorrent seeds, whose ut_metadata extension serves the info dict:
 * shoal fetches it (BEP 9), checks it against the link's hash and downloads as from a .torrent.
 */
describe("shoal get with a magnet link", () => {
  let swarm: Swarm;
  let tracker: string;

  beforeAll(async () => {
    swarm = await startSwarm({
      payload: {
        name: "magnet-set",
        seed: "magnet-e2e",
        files: [
          { path: "a.bin", size: 3 * MiB + 17 },
          { path: "sub/b.bin", size: 1 * MiB + 5 },
          { path: "empty.txt", size: 0 },
        ],
      },
      pieceLength: 64 * 1024,
      tracker: "http",
      seeds: 2,
    });
    tracker = swarm.tracker.httpAnnounce;
  }, 120_000);

  afterAll(async () => {
    await swarm?.close();
  }, 60_000);

  const fresh = async () => mkdtemp(join(tmpdir(), "shoal-magnet-out-"));

  it("fetches the metadata from the seeds a tr= tracker names, then downloads byte-identical", async () => {
    const out = await fresh();
    try {
      const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&dn=magnet-set&tr=${encodeURIComponent(tracker)}`;
      const r = await runCli(["get", link, "--out", out, "--port", "0", "--json"], 120_000);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches(out)).toEqual([]);
      const meta = r.events.find((e) => e["event"] === "metadata");
      expect(meta?.["infoHash"]).toBe(swarm.infoHashHex);
      expect(meta?.["name"]).toBe("magnet-set");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("works from an x.pe peer alone, with a base32 hash and no tracker", async () => {
    const out = await fresh();
    try {
      const seed = swarm.seeds[0]!;
      const link = `magnet:?xt=urn:btih:${base32(Buffer.from(swarm.infoHashHex, "hex"))}&x.pe=${seed.ip}:${seed.port}`;
      const r = await runCli(["get", link, "--out", out, "--port", "0"], 120_000);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches(out)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("a seeding shoal serves the metadata and the pieces to a shoal that has only the magnet link", async () => {
    const [first, second] = [await fresh(), await fresh()];
    const port = await freePort("127.0.0.1");
    const seeding = startCli(["get", swarm.torrentPath, "--out", first, "--port", String(port), "--seed-time", "120", "--json"]);
    try {
      await waitFor(async () => seeding.events.some((e) => e["event"] === "seeding" || e["event"] === "completed"), {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: "the first shoal to finish and seed",
        describe: async () => seeding.stderr().slice(-2000),
      });
      // Only the first shoal is named: the metadata can come from nowhere else.
      const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=127.0.0.1:${port}`;
      const r = await runCli(["get", link, "--out", second, "--port", "0"], 120_000);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches(second)).toEqual([]);
    } finally {
      seeding.child.kill("SIGINT");
      await seeding.exited;
      await rm(first, { recursive: true, force: true });
      await rm(second, { recursive: true, force: true });
    }
  });

  it("refuses a magnet link without a usable hash with one line and exit status 2", async () => {
    const r = await runCli(["get", "magnet:?dn=nothing&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce", "--out", "/tmp/shoal-never"], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(["shoal: magnet link: no xt=urn:btih: parameter (the info hash)"]);
    const v2 = await runCli(["get", `magnet:?xt=urn:btmh:1220${"ab".repeat(32)}`, "--out", "/tmp/shoal-never"], 30_000);
    expect(v2.code).toBe(2);
    expect(v2.stderr).toMatch(/urn:btmh: \(BitTorrent v2\) is not supported/);
  });
});

function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, "0"), 2)];
  return out;
}
