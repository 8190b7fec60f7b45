import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLibtorrentLeech, sha256File, startAria2Seed } from "../src/index.js";
import type { Peer } from "../src/index.js";
import { makeSwarm } from "./swarm-fixture.js";
import type { Swarm } from "./swarm-fixture.js";

describe("aria2 seed", () => {
  let swarm: Swarm;
  const peers: Peer[] = [];
  beforeEach(async () => {
    swarm = await makeSwarm({
      files: [
        { path: "a.bin", size: 1_500_000 },
        { path: "sub/b.bin", size: 2_000_000 },
        { path: "sub/deeper/c.bin", size: 700_001 },
      ],
      announce: "udp",
    });
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await swarm.close();
  });

  it("checks a multi-file payload, announces over UDP from its own address and serves a leecher the exact bytes", async () => {
    const seed = await startAria2Seed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: swarm.dataDir,
      ip: "127.0.0.22",
    });
    peers.push(seed);
    await seed.ready;
    expect(await swarm.tracker.peersOf(swarm.torrent.infoHashHex)).toContain(`127.0.0.22:${seed.port}`);

    const out = join(swarm.dir, "out");
    const report = await runLibtorrentLeech({ torrentPath: swarm.torrent.torrentPath, outDir: out, timeoutMs: 20_000 });
    expect(report).toMatchObject({ complete: true });
    for (const f of swarm.payload.files) expect(await sha256File(join(out, f.path))).toBe(f.sha256);
  });
});
