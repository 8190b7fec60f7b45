import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
});

const payload = {
  name: "interop",
  files: [
    { path: "data/a.bin", size: 2 * MiB + 333 },
    { path: "data/b.bin", size: 700_000 },
    { path: "c.txt", size: 10 },
  ],
};

describe("shoal get from seeds of other clients", () => {
  for (const kind of ["transmission", "aria2", "qbittorrent"] as const) {
    it(`downloads a multi-file torrent from a ${kind} seed alone`, { timeout: 120_000 }, async () => {
      swarm = await startSwarm({ payload, pieceLength: 64 * 1024, tracker: "http", seeds: 0, otherSeeds: [kind] });
      const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 100_000);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches()).toEqual([]);
    });
  }

  it("downloads from a mixed swarm of libtorrent, Transmission, aria2 and qBittorrent seeds over UDP", { timeout: 120_000 }, async () => {
    swarm = await startSwarm({
      payload: { name: "mixed.bin", size: 6 * MiB },
      pieceLength: 128 * 1024,
      tracker: "udp",
      seeds: 1,
      otherSeeds: ["transmission", "aria2", "qbittorrent"],
    });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0"], 100_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
  });
});
