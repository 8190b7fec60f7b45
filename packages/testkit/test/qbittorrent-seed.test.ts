import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLibtorrentLeech, sha256File, startQbittorrentSeed } from "../src/index.js";
import type { Peer } from "../src/index.js";
import { makeSwarm } from "./swarm-fixture.js";
import type { Swarm } from "./swarm-fixture.js";

describe("qbittorrent-nox seed", () => {
  let swarm: Swarm;
  const peers: Peer[] = [];
  beforeEach(async () => {
    swarm = await makeSwarm({
      files: [
        { path: "one.bin", size: 1_000_000 },
        { path: "two/two.bin", size: 1_300_000 },
      ],
      tool: "libtorrent-hybrid",
    });
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await swarm.close();
  });

  it("checks a hybrid torrent's data, seeds from its own address and serves a leecher the exact bytes", async () => {
    const seed = await startQbittorrentSeed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: swarm.dataDir,
      ip: "127.0.0.24",
    });
    peers.push(seed);
    await seed.ready;
    expect(await swarm.tracker.peersOf(swarm.torrent.infoHashHex)).toContain(`127.0.0.24:${seed.port}`);

    const out = join(swarm.dir, "out");
    const report = await runLibtorrentLeech({ torrentPath: swarm.torrent.torrentPath, outDir: out, timeoutMs: 20_000 });
    expect(report).toMatchObject({ complete: true });
    for (const f of swarm.payload.files) expect(await sha256File(join(out, f.path))).toBe(f.sha256);
  });
});
