import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchBlocks, runLibtorrentLeech, sha256File, startTransmissionSeed } from "../src/index.js";
import type { Peer } from "../src/index.js";
import { makeSwarm } from "./swarm-fixture.js";
import type { Swarm } from "./swarm-fixture.js";

// Transmission unchokes new peers only in its rechoke pass, every 10 s: a download from it
// takes that long however small the payload is.
const TRANSMISSION_TEST_TIMEOUT_MS = 45_000;

describe("transmission-daemon seed", () => {
  let swarm: Swarm;
  const peers: Peer[] = [];
  beforeEach(async () => {
    swarm = await makeSwarm({ sizeBytes: 2 * 1024 * 1024 });
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await swarm.close();
  });

  it(
    "verifies the data, seeds, is listed by the tracker and serves a leecher the exact bytes",
    async () => {
      const seed = await startTransmissionSeed({ torrentPath: swarm.torrent.torrentPath, dataDir: swarm.dataDir });
      peers.push(seed);
      await seed.ready;
      expect(await swarm.tracker.peersOf(swarm.torrent.infoHashHex)).toContain(`127.0.0.1:${seed.port}`);

      const out = join(swarm.dir, "out");
      const report = await runLibtorrentLeech({ torrentPath: swarm.torrent.torrentPath, outDir: out, timeoutMs: 30_000 });
      expect(report).toMatchObject({ complete: true });
      expect(await sha256File(join(out, "payload.bin"))).toBe(swarm.payload.files[0]?.sha256);
    },
    TRANSMISSION_TEST_TIMEOUT_MS,
  );

  it(
    "binds to its own loopback address, announces from it, and resets a second connection from one IP",
    async () => {
      const seed = await startTransmissionSeed({
        torrentPath: swarm.torrent.torrentPath,
        dataDir: swarm.dataDir,
        ip: "127.0.0.21",
      });
      peers.push(seed);
      await seed.ready;
      expect(await swarm.tracker.peersOf(swarm.torrent.infoHashHex)).toContain(`127.0.0.21:${seed.port}`);

      const fetch = (): Promise<string> =>
        fetchBlocks({
          ip: seed.ip,
          port: seed.port,
          infoHashHex: swarm.torrent.infoHashHex,
          requests: [{ piece: 0, begin: 0, length: 16 * 1024 }],
          timeoutMs: 20_000,
        }).then(
          () => "served",
          () => "refused",
        );
      const outcomes = await Promise.all([fetch(), fetch()]);
      expect(outcomes.sort()).toEqual(["refused", "served"]);
    },
    TRANSMISSION_TEST_TIMEOUT_MS,
  );
});
