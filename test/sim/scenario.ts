import { afterEach, expect } from "vitest";
import { FakeSeed, type SeedBehavior } from "./fake-seed.js";
import { Cleanup, SimCluster, allSocketsClosed, type ClusterOptions } from "./harness.js";
import type { TorrentFixture } from "./torrent-fixture.js";

export const KiB = 1024;
export const BLOCK_BYTES = 16 * KiB;
/** Every download here moves at most a few MiB over loopback: seconds, not tens of seconds. */
export const COMPLETE_WITHIN_MS = 12_000;

/**
 * Per-file scenario kit: clusters and seeds made through it are closed after each test, in
 * reverse order, whatever the test's outcome.
 */
export function scenarioKit() {
  const cleanup = new Cleanup();
  afterEach(async () => {
    await cleanup.run();
    await allSocketsClosed();
  });
  return {
    cleanup,
    async cluster(opts: ClusterOptions): Promise<SimCluster> {
      return cleanup.add(await SimCluster.start(opts), (c) => c.close());
    },
    async seed(fixture: TorrentFixture, ip: string, behavior: SeedBehavior = {}): Promise<FakeSeed> {
      return cleanup.add(await FakeSeed.start(fixture, ip, behavior), (s) => s.close());
    },
  };
}

/** The checks every download ends with: the bytes on disk, the piece table, one write per piece. */
export async function expectCompleteAndSound(c: SimCluster): Promise<void> {
  await c.finish();
  expect(await c.mismatches()).toEqual([]);
  expect(await c.invariants()).toEqual([]);
  for (let i = 0; i < c.fixture.pieceCount; i++) expect(c.store.writes.get(i), `writes of piece ${i}`).toBe(1);
  expect([...c.storedOrder].sort((a, b) => a - b)).toEqual(Array.from({ length: c.fixture.pieceCount }, (_, i) => i));
  expect(c.busErrors).toEqual([]);
}
