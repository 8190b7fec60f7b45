import { expect } from "vitest";
import { CoordinationError, MAX_AVAILABILITY, type ClaimTable } from "@shoal/coordination";
import type { ClaimTableFixture } from "./claim-table-fixture.js";
import { expectRejection } from "./expect-error.js";
import { randomId, randomInfoHash } from "./ids.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;

/** A torrent as large as the ones the vectors are designed for: 100k pieces, an odd count. */
const BIG_PIECE_COUNT = 100_003;

const vector = (...counts: number[]) => Uint16Array.from(counts);
const plain = (a: Uint16Array) => [...a];

/**
 * Cluster-wide availability, part of the ClaimTable contract: per-worker vectors summed over the
 * workers with a live lease, saturating, one worker left out on request, gone with the lease or
 * when the worker withdraws, and refused when their length is not the torrent's piece count.
 */
export function claimTableAvailabilityCases(scenario: Scenario, leaseTtlMs: number): void {
  scenario("availability sums the vectors of every live worker, one count per piece", async (fx, table) => {
    const ih = await fx.torrent(5);
    expect(plain(await table.availability(ih)), "before anyone published").toEqual([0, 0, 0, 0, 0]);
    const [a, b, c] = [await fx.worker(), await fx.worker(), await fx.worker()];
    await table.publishAvailability(ih, a, vector(1, 0, 2, 0, 0));
    await table.publishAvailability(ih, b, vector(0, 0, 3, 1, 0));
    await table.publishAvailability(ih, c, vector(4, 0, 0, 1, 0));
    const sum = await table.availability(ih);
    expect(sum).toBeInstanceOf(Uint16Array);
    expect(plain(sum)).toEqual([5, 0, 5, 2, 0]);
    // A second vector from the same worker replaces its first.
    await table.publishAvailability(ih, b, vector(0, 7, 0, 0, 0));
    expect(plain(await table.availability(ih))).toEqual([5, 7, 2, 1, 0]);
  });

  scenario("availability leaves out the worker it is asked to exclude, and only that one", async (fx, table) => {
    const ih = await fx.torrent(3);
    const [a, b] = [await fx.worker(), await fx.worker()];
    await table.publishAvailability(ih, a, vector(1, 2, 3));
    await table.publishAvailability(ih, b, vector(10, 20, 30));
    expect(plain(await table.availability(ih, a))).toEqual([10, 20, 30]);
    expect(plain(await table.availability(ih, b))).toEqual([1, 2, 3]);
    // A worker that never published (a writer, a newcomer) leaves everyone in.
    expect(plain(await table.availability(ih, randomId("worker")))).toEqual([11, 22, 33]);
  });

  scenario("sums saturate at MAX_AVAILABILITY instead of wrapping", async (fx, table) => {
    const ih = await fx.torrent(3);
    const [a, b, c] = [await fx.worker(), await fx.worker(), await fx.worker()];
    await table.publishAvailability(ih, a, vector(MAX_AVAILABILITY, 40_000, 1));
    await table.publishAvailability(ih, b, vector(1, 40_000, 1));
    await table.publishAvailability(ih, c, vector(MAX_AVAILABILITY, 0, 1));
    expect(plain(await table.availability(ih))).toEqual([MAX_AVAILABILITY, MAX_AVAILABILITY, 3]);
    expect(plain(await table.availability(ih, c))).toEqual([MAX_AVAILABILITY, MAX_AVAILABILITY, 2]);
  });

  scenario("a vector counts while its worker's lease lasts, and the lease sweep drops it", async (fx, table) => {
    const ih = await fx.torrent(2);
    const [a, b] = [await fx.worker(), await fx.worker()];
    await table.publishAvailability(ih, a, vector(1, 1));
    await table.publishAvailability(ih, b, vector(2, 0));
    // Only b keeps beating: a's lease lapses and its vector stops counting at once.
    await fx.advanceTime(leaseTtlMs / 2);
    await table.heartbeat(ih, b, leaseTtlMs);
    await fx.advanceTime(leaseTtlMs / 2);
    expect(plain(await table.availability(ih))).toEqual([2, 0]);
    // Renewed before any sweep, the worker counts again, as its claims would still be its own.
    await table.heartbeat(ih, a, leaseTtlMs);
    expect(plain(await table.availability(ih))).toEqual([3, 1]);
    // Lapsed and swept, the vector is gone: a lease taken afterwards brings back nothing.
    await fx.advanceTime(leaseTtlMs);
    await table.heartbeat(ih, b, leaseTtlMs);
    await table.expireWorkers(ih);
    await table.heartbeat(ih, a, leaseTtlMs);
    expect(plain(await table.availability(ih))).toEqual([2, 0]);
    await table.publishAvailability(ih, a, vector(0, 5));
    expect(plain(await table.availability(ih))).toEqual([2, 5]);
  });

  scenario("a worker that leaves withdraws its vector, and a lease of 0 stops it counting at once", async (fx, table) => {
    const ih = await fx.torrent(2);
    const [a, b] = [await fx.worker(), await fx.worker()];
    await table.publishAvailability(ih, a, vector(1, 0));
    await table.publishAvailability(ih, b, vector(0, 1));
    await table.withdrawAvailability(ih, a);
    expect(plain(await table.availability(ih))).toEqual([0, 1]);
    // Harmless a second time, for a worker that never published, and for a torrent that is gone.
    await table.withdrawAvailability(ih, a);
    await table.withdrawAvailability(ih, randomId("worker"));
    await table.withdrawAvailability(randomInfoHash(), a);
    await table.heartbeat(ih, b, 0);
    expect(plain(await table.availability(ih))).toEqual([0, 0]);
  });

  scenario("a vector published without a lease does not count, and the next sweep drops it", async (fx, table) => {
    const ih = await fx.torrent(2);
    const lone = randomId("worker");
    await table.publishAvailability(ih, lone, vector(3, 3));
    expect(plain(await table.availability(ih))).toEqual([0, 0]);
    await table.expireWorkers(ih);
    await table.heartbeat(ih, lone, leaseTtlMs);
    expect(plain(await table.availability(ih))).toEqual([0, 0]);
  });

  scenario("the table keeps its own copy of a published vector", async (fx, table) => {
    const ih = await fx.torrent(3);
    const a = await fx.worker();
    const counts = vector(1, 2, 3);
    await table.publishAvailability(ih, a, counts);
    counts.fill(9);
    const sum = await table.availability(ih);
    expect(plain(sum)).toEqual([1, 2, 3]);
    sum.fill(7);
    expect(plain(await table.availability(ih))).toEqual([1, 2, 3]);
  });

  scenario("a vector whose length is not the piece count is refused with one line naming both, changing nothing", async (fx, table) => {
    const ih = await fx.torrent(4);
    const a = await fx.worker();
    await table.publishAvailability(ih, a, vector(1, 1, 1, 1));
    for (const bad of [vector(2, 2, 2), vector(2, 2, 2, 2, 2), new Uint16Array(0)]) {
      const err = await expectRejection(
        () => table.publishAvailability(ih, a, bad),
        CoordinationError,
        "LENGTH_MISMATCH",
        `a vector of ${bad.length} counts for 4 pieces`,
      );
      expect(err.message).not.toContain("\n");
      expect(err.message).toContain(`${bad.length} counts`);
      expect(err.message).toContain("4 pieces");
      expect(err.message).toContain(ih);
    }
    expect(plain(await table.availability(ih))).toEqual([1, 1, 1, 1]);
  });

  scenario("availability and publishAvailability of an unknown torrent fail with UNKNOWN_TORRENT", async (fx, table) => {
    const a = await fx.worker();
    const ih = randomInfoHash();
    await expectRejection(() => table.availability(ih), CoordinationError, "UNKNOWN_TORRENT", "availability");
    await expectRejection(() => table.publishAvailability(ih, a, vector(1)), CoordinationError, "UNKNOWN_TORRENT", "publishAvailability");
  });

  scenario("deleteTorrent drops the vectors with the rest of the torrent", async (fx, table) => {
    const ih = await fx.torrent(2);
    const a = await fx.worker();
    await table.publishAvailability(ih, a, vector(4, 4));
    await table.deleteTorrent(ih);
    await table.createTorrent(ih, 2, []);
    await table.heartbeat(ih, a, leaseTtlMs);
    expect(plain(await table.availability(ih))).toEqual([0, 0]);
  });

  scenario("vectors of a torrent with 100k pieces sum exactly", async (fx, table) => {
    const ih = await fx.torrent(BIG_PIECE_COUNT);
    const [a, b] = [await fx.worker(), await fx.worker()];
    const va = new Uint16Array(BIG_PIECE_COUNT);
    const vb = new Uint16Array(BIG_PIECE_COUNT);
    for (let i = 0; i < BIG_PIECE_COUNT; i++) {
      va[i] = i % 7;
      vb[i] = (i * 31) % 65_536;
    }
    await table.publishAvailability(ih, a, va);
    await table.publishAvailability(ih, b, vb);
    const sum = await table.availability(ih);
    expect(sum.length).toBe(BIG_PIECE_COUNT);
    let wrong = 0;
    for (let i = 0; i < BIG_PIECE_COUNT; i++) if (sum[i] !== Math.min(MAX_AVAILABILITY, va[i]! + vb[i]!)) wrong++;
    expect(wrong, "pieces whose sum is wrong").toBe(0);
    expect(plain(await table.availability(ih, b)).slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 0]);
  });
}
