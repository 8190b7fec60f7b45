import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLibtorrentLeech, sha256File, startLibtorrentSeed } from "../src/index.js";
import type { Peer } from "../src/index.js";
import { makeSwarm } from "./swarm-fixture.js";
import type { Swarm } from "./swarm-fixture.js";

describe("libtorrent seed", () => {
  let swarm: Swarm;
  const peers: Peer[] = [];
  beforeEach(async () => {
    swarm = await makeSwarm();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await swarm.close();
  });

  it("seeds after a hash check, is listed by the tracker and serves a leecher the exact bytes", async () => {
    const seed = await startLibtorrentSeed({ torrentPath: swarm.torrent.torrentPath, dataDir: swarm.dataDir });
    peers.push(seed);
    await seed.ready;
    expect(await swarm.tracker.peersOf(swarm.torrent.infoHashHex)).toContain(`${seed.ip}:${seed.port}`);

    const out = join(swarm.dir, "out");
    const report = await runLibtorrentLeech({ torrentPath: swarm.torrent.torrentPath, outDir: out, timeoutMs: 20_000 });
    expect(report.complete).toBe(true);
    expect(await sha256File(join(out, "payload.bin"))).toBe(swarm.payload.files[0]?.sha256);
    expect((await seed.state()).uploaded).toBeGreaterThanOrEqual(swarm.payload.totalBytes);
  });
});
