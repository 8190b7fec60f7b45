import { open } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchBlocks, runLibtorrentLeech, startCorruptSeed, startLibtorrentSeed, waitFor } from "../src/index.js";
import type { CorruptSeed } from "../src/index.js";
import { makeSwarm } from "./swarm-fixture.js";
import type { Swarm } from "./swarm-fixture.js";

const PIECE_BYTES = 256 * 1024;
const BLOCK_BYTES = 16 * 1024;
const CORRUPT = [2, 5];

async function payloadBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

describe("corrupt seed", () => {
  let swarm: Swarm;
  let seed: CorruptSeed | undefined;
  beforeEach(async () => {
    swarm = await makeSwarm({ sizeBytes: 4 * 1024 * 1024, pieceLength: PIECE_BYTES });
  });
  afterEach(async () => {
    await seed?.stop();
    seed = undefined;
    await swarm.close();
  });

  it("is listed by the tracker under its own address and serves inverted bytes only for the listed pieces", async () => {
    seed = await startCorruptSeed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: swarm.dataDir,
      ip: "127.0.0.66",
      corruptPieces: CORRUPT,
    });
    await seed.ready;
    expect(await swarm.tracker.peersOf(swarm.torrent.infoHashHex)).toContain(`127.0.0.66:${seed.port}`);

    const requests = [
      { piece: 2, begin: BLOCK_BYTES, length: BLOCK_BYTES },
      { piece: 3, begin: 0, length: BLOCK_BYTES },
    ];
    const [bad, good] = await fetchBlocks({
      ip: seed.ip,
      port: seed.port,
      infoHashHex: swarm.torrent.infoHashHex,
      requests,
    });
    const file = swarm.payload.root;
    const realBad = await payloadBytes(file, 2 * PIECE_BYTES + BLOCK_BYTES, BLOCK_BYTES);
    const realGood = await payloadBytes(file, 3 * PIECE_BYTES, BLOCK_BYTES);
    expect(good?.equals(realGood)).toBe(true);
    expect(bad?.length).toBe(BLOCK_BYTES);
    expect(bad?.every((b, i) => b === ((realBad[i] ?? 0) ^ 0xff))).toBe(true);
    await waitFor(async () => (await seed?.servedBlocks()) === 2, { timeoutMs: 2_000, what: "2 served blocks" });
    expect(await seed.corruptBlocks()).toBe(1);
  });

  it("makes a libtorrent leecher connected only to it fail the hash of a corrupt piece and nothing else", async () => {
    seed = await startCorruptSeed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: swarm.dataDir,
      ip: "127.0.0.66",
      corruptPieces: CORRUPT,
    });
    await seed.ready;
    const report = await runLibtorrentLeech({
      torrentPath: swarm.torrent.torrentPath,
      outDir: join(swarm.dir, "out"),
      peers: [`${seed.ip}:${seed.port}`],
      noTrackers: true,
      until: "hash-failure",
      timeoutMs: 20_000,
    });
    expect(report.timedOut).toBe(false);
    expect(report.hashFailedPieces.length).toBeGreaterThan(0);
    for (const p of report.hashFailedPieces) expect(CORRUPT).toContain(p);
    // Whole pieces fail (the other corrupt piece may have failed too before the report).
    expect(report.failedBytes % PIECE_BYTES).toBe(0);
    expect(report.failedBytes).toBeGreaterThan(0);
  });

  it("joins a swarm next to an honest seed, each listed by the tracker under its own address", async () => {
    seed = await startCorruptSeed({
      torrentPath: swarm.torrent.torrentPath,
      dataDir: swarm.dataDir,
      ip: "127.0.0.66",
      corruptPieces: CORRUPT,
    });
    const honest = await startLibtorrentSeed({ torrentPath: swarm.torrent.torrentPath, dataDir: swarm.dataDir });
    try {
      await Promise.all([seed.ready, honest.ready]);
      const listed = await swarm.tracker.peersOf(swarm.torrent.infoHashHex);
      expect(listed).toEqual(expect.arrayContaining([`127.0.0.66:${seed.port}`, `127.0.0.1:${honest.port}`]));
    } finally {
      await honest.stop();
    }
  });
});
