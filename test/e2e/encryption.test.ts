import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, runLibtorrentLeech, sha256File, waitFor } from "@shoal/testkit";
import { runCli, startCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
});

const payload = {
  name: "enc",
  files: [
    { path: "a.bin", size: 3 * MiB + 12_345 },
    { path: "b.bin", size: 500_000 },
  ],
};

describe("protocol encryption (MSE/PE) with real peers", () => {
  it("downloads with default settings from libtorrent seeds that accept encrypted connections only", { timeout: 120_000 }, async () => {
    swarm = await startSwarm({ payload, pieceLength: 64 * 1024, tracker: "http", seeds: 2, seedEncryption: "forced" });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 100_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
  });

  for (const kind of ["transmission", "aria2"] as const) {
    it(`downloads from a ${kind} seed with encryption required`, { timeout: 120_000 }, async () => {
      swarm = await startSwarm({ payload, pieceLength: 64 * 1024, tracker: "http", seeds: 0, otherSeeds: [kind], otherSeedsRequireEncryption: true });
      const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 100_000);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches()).toEqual([]);
    });
  }

  it("--encryption require gets nothing from a plaintext-only seed and says the peer refused encryption; prefer falls back and downloads", { timeout: 150_000 }, async () => {
    swarm = await startSwarm({ payload, pieceLength: 64 * 1024, tracker: "http", seeds: 1, seedEncryption: "disabled" });
    const strict = startCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--encryption", "require", "--log-level", "warn"]);
    try {
      await waitFor(() => strict.stderr().includes("peer refused encryption"), { timeoutMs: 30_000, what: "shoal to report the seed refusing encryption" });
      expect(strict.stderr()).toContain("which is required");
      expect(strict.child.exitCode).toBeNull();
      const progress = strict.events.filter((e) => e["event"] === "progress");
      expect(progress.every((e) => Number(e["downloadedBytes"] ?? 0) === 0)).toBe(true);
    } finally {
      strict.child.kill("SIGKILL");
      await strict.exited;
    }
    expect(await swarm.mismatches()).toEqual(["a.bin: missing", "b.bin: missing"].map((m) => `enc/${m}`));
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 100_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
  });

  it("serves a libtorrent leecher that forces encryption on its incoming connection", { timeout: 150_000 }, async () => {
    // No other seed: the leecher can only get the bytes from shoal, which has them already.
    swarm = await startSwarm({ payload: { name: "up.bin", size: 4 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 0 });
    const port = await freePort();
    const dataDir = join(swarm.dir, "data");
    const seeder = startCli(["get", swarm.torrentPath, "--out", dataDir, "--port", String(port), "--json", "--seed-time", "600"]);
    try {
      await waitFor(() => seeder.events.some((e) => e["event"] === "seeding"), { timeoutMs: 30_000, what: "shoal to recheck its data and seed" });
      const leech = await runLibtorrentLeech({
        torrentPath: swarm.torrentPath,
        outDir: join(swarm.dir, "leech"),
        peers: [`127.0.0.1:${port}`],
        noTrackers: true,
        timeoutMs: 60_000,
        encryption: "forced",
      });
      expect(leech.complete, leech.errors.join("; ")).toBe(true);
      expect(await sha256File(join(swarm.dir, "leech", "up.bin"))).toBe(swarm.payload.files[0]!.sha256);
    } finally {
      seeder.child.kill("SIGKILL");
      await seeder.exited;
    }
  });
});
