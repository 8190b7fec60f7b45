import { afterEach, describe, expect, it } from "vitest";
import { startCorruptSeed, type CorruptSeed } from "@shoal/testkit";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let swarm: Swarm | undefined;
let bad: CorruptSeed | undefined;
afterEach(async () => {
  await bad?.stop();
  await swarm?.close();
  swarm = bad = undefined;
});

describe("a seed that serves corrupt blocks", () => {
  it("is caught by the hash check, banned, and the download completes from the honest seed", { timeout: 150_000 }, async () => {
    // The honest seed is slow, so the fast corrupt seed is asked for many pieces.
    swarm = await startSwarm({
      payload: { name: "guarded.bin", size: 8 * MiB },
      pieceLength: 128 * 1024,
      tracker: "http",
      seeds: 1,
      seedUploadRateLimit: 1.5 * MiB,
    });
    const corruptPieces = Array.from({ length: 64 }, (_, i) => i).filter((i) => i % 2 === 0);
    bad = await startCorruptSeed({ torrentPath: swarm.torrentPath, dataDir: `${swarm.dir}/data`, ip: "127.0.0.66", corruptPieces });
    await bad.ready;
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--log-level", "warn"], 100_000);
    expect(r.code, r.stderr.slice(-6000)).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    expect(await bad.corruptBlocks()).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/failed SHA-1/);
    expect(r.stderr).toMatch(/peer 127\.0\.0\.66:\d+ banned/);
  });
});
