import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLibtorrentLeech, sha256File, startLibtorrentSeed, waitFor } from "../src/index.js";
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
    expect(report).toMatchObject({ complete: true });
    expect(await sha256File(join(out, "payload.bin"))).toBe(swarm.payload.files[0]?.sha256);
    // The seed's counters reach its state file within a status interval, not at once.
    await waitFor(async () => (await seed.state()).uploaded >= swarm.payload.totalBytes, {
      timeoutMs: 5_000,
      what: "the seed to count the uploaded payload",
    });
  });
});

describe("libtorrent peer modes and limits", () => {
  let swarm: Swarm;
  const peers: Peer[] = [];
  beforeEach(async () => {
    swarm = await makeSwarm({ sizeBytes: 1024 * 1024, pieceLength: 64 * 1024 });
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await swarm.close();
  });

  it("downloads in leech mode from another libtorrent seed found through the tracker", async () => {
    const seed = await startLibtorrentSeed({ torrentPath: swarm.torrent.torrentPath, dataDir: swarm.dataDir });
    peers.push(seed);
    await seed.ready;
    const out = join(swarm.dir, "leech");
    const leech = await startLibtorrentSeed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: out,
      ip: "127.0.0.31",
      mode: "leech",
    });
    peers.push(leech);
    await leech.ready;
    await waitFor(async () => (await leech.state()).seeding, { timeoutMs: 20_000, what: "the leecher to complete" });
    expect(await sha256File(join(out, "payload.bin"))).toBe(swarm.payload.files[0]?.sha256);
  });

  it("holds its upload rate limit on loopback", async () => {
    const rate = 800 * 1024;
    const seed = await startLibtorrentSeed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: swarm.dataDir,
      uploadRateLimit: rate,
    });
    peers.push(seed);
    await seed.ready;
    const report = await runLibtorrentLeech({
      torrentPath: swarm.torrent.torrentPath,
      outDir: join(swarm.dir, "out"),
      timeoutMs: 20_000,
    });
    expect(report).toMatchObject({ complete: true });
    // 1 MiB at 800 KiB/s: about a second and a quarter, even with an initial burst; an
    // unlimited loopback seed delivers it in about 0.1 s.
    expect(report.seconds).toBeGreaterThan(0.9);
  });

  it("rejects `ready` with the exit and the log when the seed dies before it is ready", async () => {
    const seed = await startLibtorrentSeed({ torrentPath: swarm.torrent.torrentPath, dataDir: swarm.dataDir });
    peers.push(seed);
    seed.kill9();
    await expect(seed.ready).rejects.toMatchObject({ code: "EARLY_EXIT" });
    await expect(seed.ready).rejects.toThrow(/signal SIGKILL/);
  });
});
