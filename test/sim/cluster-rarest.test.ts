import { describe, expect, it } from "vitest";
import type { FakeSeed } from "./fake-seed.js";
import type { SimCluster } from "./harness.js";
import { COMPLETE_WITHIN_MS, KiB, scenarioKit } from "./scenario.js";
import { makeFixture, type TorrentFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

const PIECES = 64;
/** Pieces every worker has before it starts: past the random first picks, rarest first rules. */
const STORED = [0, 1, 2, 3];
/** Four pieces of 32 KiB: what a worker may have claimed and not yet staged at once. */
const BUDGET_MIB = 0.125;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/**
 * Worker B joins first, with a seed of its own, and publishes what its peer has; then worker A
 * joins and gets a seed of its own. One seed each: an uneven split would make the peer registry
 * hand one of B's peers over to A, and A would then see the rarity locally anyway. Per-piece
 * picks (no claim runs); slow seeds and a budget of four pieces in memory, so B has neither
 * downloaded nor claimed most of the torrent when A starts picking.
 */
async function twoWorkers(fixture: TorrentFixture, hasOfB: readonly number[], hasOfA: readonly number[]): Promise<{ c: SimCluster; seeds: FakeSeed[] }> {
  const c = await kit.cluster({ fixture, workers: 0, stored: STORED, worker: { claimRunMiB: 0, maxBufferedMiB: BUDGET_MIB } });
  const b = await c.startWorker({ workerId: "worker-b" });
  const seedB = await kit.seed(fixture, "127.0.0.121", { has: hasOfB, serveIntervalMs: 40 });
  await c.begin([b]);
  await c.announce([seedB.address]);
  const probe = hasOfB.find((i) => !STORED.includes(i))!;
  await until(async () => (await c.claims.availability(c.infoHash))[probe] === 1, {
    timeoutMs: 5_000,
    what: "worker B to publish the pieces its peer has",
    describe: () => c.describe(),
  });
  const a = await c.startWorker({ workerId: "worker-a" });
  const seedA = await kit.seed(fixture, "127.0.0.122", { has: hasOfA, serveIntervalMs: 15 });
  await c.begin([a]);
  await c.announce([seedA.address]);
  return { c, seeds: [seedB, seedA] };
}

/** `expectCompleteAndSound` for a torrent begun with STORED in place: those are never written again. */
async function expectFinishedFromStored(c: SimCluster): Promise<void> {
  await c.waitComplete(COMPLETE_WITHIN_MS);
  await c.finish();
  expect(await c.mismatches()).toEqual([]);
  expect(await c.invariants()).toEqual([]);
  for (let i = 0; i < PIECES; i++) expect(c.store.writes.get(i), `writes of piece ${i}`).toBe(STORED.includes(i) ? undefined : 1);
  expect(c.busErrors).toEqual([]);
}

/** The first `n` pieces the claim table granted `workerId`, in grant order. */
async function firstGrants(c: SimCluster, workerId: string, n: number): Promise<number[]> {
  const granted = () => c.claims.grants.filter((g) => g.workerId === workerId).flatMap((g) => g.pieces);
  await until(() => granted().length >= n, { timeoutMs: 5_000, what: `${n} claims of ${workerId}`, describe: () => c.describe() });
  return granted().slice(0, n);
}

describe("rarest first across the workers of a cluster", () => {
  it("has the worker whose peer alone holds some pieces claim those first, though all its pieces look alike from its own connections", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: PIECES * 32 * KiB, seed: 121 });
    const rare = [13, 37, 50];
    const { c, seeds } = await twoWorkers(
      fixture,
      range(0, PIECES).filter((i) => !rare.includes(i)),
      range(0, PIECES),
    );
    // A's one peer has every piece: by its own counts all 60 are equally rare. Across the
    // cluster the three only it has are the rarest, and they are what A asks the table for first.
    expect((await firstGrants(c, "worker-a", rare.length)).sort((x, y) => x - y)).toEqual(rare);
    await expectFinishedFromStored(c);
    for (const s of seeds) expect(s.stats.connections).toBe(1);
    // Worker B never had a source for the rare pieces: A fetched every one of them.
    for (const i of rare) expect(c.stagedBy.find((s) => s.piece === i)?.workerId).toBe("worker-a");
  });
});
