import { describe, expect, it } from "vitest";
import { BLOCK_BYTES, COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";

const kit = scenarioKit();

describe("downloading from honest fake seeds", () => {
  it("completes a multi-file torrent from three seeds, storing every piece exactly once", async () => {
    // Files cross piece boundaries and one is empty, so the layout mapping is exercised too.
    const fixture = makeFixture({ name: "album", pieceLength: 64 * KiB, size: [300_000, 0, 700_000, 1_000_000], seed: 11 });
    // Hashing threads on, as a busy verifier would run.
    const c = await kit.cluster({ fixture, verifier: { hashThreads: 2 } });
    const seeds = await Promise.all(["127.0.0.11", "127.0.0.12", "127.0.0.13"].map((ip) => kit.seed(fixture, ip)));
    await c.begin();
    await c.announce(seeds.map((s) => s.address));
    await c.waitComplete(COMPLETE_WITHIN_MS);
    const status = c.workers[0]!.swarmStatus(c.infoHash) as { wastedBytes: number };
    await expectCompleteAndSound(c);
    const totalBlocks = Math.ceil(fixture.payload.length / BLOCK_BYTES);
    const served = seeds.reduce((n, s) => n + s.stats.blocksServed, 0);
    // Whatever was served beyond one copy of each block is what the worker counts as waste.
    expect(served).toBeGreaterThanOrEqual(totalBlocks);
    expect(status.wastedBytes).toBeLessThanOrEqual((served - totalBlocks) * BLOCK_BYTES);
    for (const s of seeds) expect(s.stats.connections).toBe(1);
    // The bytes went to the verifier and writer on the bus: nothing was staged in the store.
    expect(c.store.stagings.size).toBe(0);
    // A complete worker has nothing to ask of seeds and hangs up on them.
    for (const s of seeds) await s.sessions[0]!.waitClosed(2_000);
  });

  it("sends pieces larger than one bus message on the bus too, not through the store's staging", async () => {
    const fixture = makeFixture({ pieceLength: 128 * KiB, size: 8 * 128 * KiB, seed: 13 });
    const c = await kit.cluster({ fixture, busMaxPayloadBytes: 64 * KiB });
    const seed = await kit.seed(fixture, "127.0.0.14");
    await c.begin();
    await c.announce([seed.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    // Staging in one process's store is invisible to a verifier in another: the bus carries them.
    expect(c.store.stagings.size).toBe(0);
  });

  it("completes a single-file torrent whose last piece is short", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 10 * 32 * KiB + 5_000, seed: 12 });
    const c = await kit.cluster({ fixture });
    const s = await kit.seed(fixture, "127.0.0.14", { haveAll: true });
    await c.begin();
    await c.announce([s.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
  });

  it("resumes: downloads only the pieces that are not stored yet", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 16 * 32 * KiB, seed: 15 });
    const stored = [0, 1, 2, 7, 8, 15];
    const c = await kit.cluster({ fixture, stored });
    const s = await kit.seed(fixture, "127.0.0.20");
    await c.begin();
    await c.announce([s.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await c.finish();
    expect(await c.mismatches()).toEqual([]);
    expect(await c.invariants()).toEqual([]);
    const asked = new Set(s.received().flatMap((m) => (m.type === "request" ? [m.index] : [])));
    for (const i of stored) expect(asked.has(i), `piece ${i} was asked for`).toBe(false);
    for (const i of stored) expect(c.store.writes.get(i)).toBeUndefined();
    // Our bitfield told the seed what we already had.
    const bits = s.received().find((m) => m.type === "bitfield");
    expect(bits).toBeDefined();
  });

  it("wastes little in end-game with the default pipeline (under a tenth of the payload)", async () => {
    const fixture = makeFixture({ pieceLength: 64 * KiB, size: 2 * 1024 * KiB, seed: 13 });
    const c = await kit.cluster({ fixture, worker: { minPipeline: 32 } });
    const seeds = await Promise.all(["127.0.0.15", "127.0.0.16", "127.0.0.17"].map((ip) => kit.seed(fixture, ip)));
    await c.begin();
    await c.announce(seeds.map((s) => s.address));
    await c.waitComplete(COMPLETE_WITHIN_MS);
    const status = c.workers[0]!.swarmStatus(c.infoHash) as { wastedBytes: number };
    await expectCompleteAndSound(c);
    expect(status.wastedBytes).toBeLessThan(fixture.payload.length / 10);
  });
});
