/**
 * How many peer workers there are, part of the ClaimTable contract: `PeerGrant.liveWorkers` (a
 * torrent's live peer workers) and `peerWorkerPresence` (the cluster's). A worker that joins a
 * torrent compares the two to know when every peer worker of the cluster has registered there.
 */
import { expect } from "vitest";
import type { ClaimTable } from "@shoal/coordination";
import type { ClaimTableFixture } from "./claim-table-fixture.js";
import { randomId } from "./ids.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;

/** Registers these cases with the contract's `scenario`. */
export function claimTablePresenceCases(scenario: Scenario, leaseTtlMs: number): void {
  scenario("claimPeers answers the torrent's live peer workers, the caller included", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [first, second, third] = [await fx.worker(), await fx.worker(), await fx.worker()];
    // A lease holder that takes no peers (a writer holding pieces) is no peer worker.
    await fx.worker();
    expect((await table.claimPeers(ih, first, [], 0)).liveWorkers).toBe(1);
    expect((await table.claimPeers(ih, second, [], 0)).liveWorkers).toBe(2);
    expect((await table.claimPeers(ih, first, ["10.3.0.1:1"], 1)).liveWorkers).toBe(2);
    // A worker leaving with a heartbeat of ttl 0 stops counting at once.
    await table.heartbeat(ih, second, 0);
    expect((await table.claimPeers(ih, first, [], 0)).liveWorkers).toBe(1);
    // So does one whose lease lapsed, before any sweep.
    expect((await table.claimPeers(ih, third, [], 0)).liveWorkers).toBe(2);
    await fx.advanceTime(leaseTtlMs * 0.6);
    await table.heartbeat(ih, first, leaseTtlMs);
    await fx.advanceTime(leaseTtlMs * 0.6);
    expect((await table.claimPeers(ih, first, [], 0)).liveWorkers).toBe(1);
    // A worker without a lease counts itself.
    expect((await table.claimPeers(ih, "worker-without-lease", [], 0)).liveWorkers).toBe(2);
  });

  scenario("peerWorkerPresence counts the cluster's live peer workers, whatever torrents they are in", async (_fx, table) => {
    const [a, b, c] = [randomId("worker"), randomId("worker"), randomId("worker")];
    expect(await table.peerWorkerPresence(a, leaseTtlMs)).toBe(1);
    expect(await table.peerWorkerPresence(b, leaseTtlMs)).toBe(2);
    // Refreshing is not joining again.
    expect(await table.peerWorkerPresence(a, leaseTtlMs)).toBe(2);
    expect(await table.peerWorkerPresence(c, leaseTtlMs)).toBe(3);
    // A ttl of 0 removes the worker at once; the answer no longer counts it.
    expect(await table.peerWorkerPresence(b, 0)).toBe(2);
    expect(await table.peerWorkerPresence(b, 0)).toBe(2);
    expect(await table.peerWorkerPresence(a, leaseTtlMs)).toBe(2);
  });

  scenario("a peer worker's presence lapses ttl after its last call", async (fx, table) => {
    const [staying, silent] = [randomId("worker"), randomId("worker")];
    await table.peerWorkerPresence(silent, leaseTtlMs);
    expect(await table.peerWorkerPresence(staying, leaseTtlMs)).toBe(2);
    await fx.advanceTime(leaseTtlMs * 0.6);
    expect(await table.peerWorkerPresence(staying, leaseTtlMs)).toBe(2);
    await fx.advanceTime(leaseTtlMs * 0.6);
    expect(await table.peerWorkerPresence(staying, leaseTtlMs)).toBe(1);
    // It counts again once it calls again.
    expect(await table.peerWorkerPresence(silent, leaseTtlMs)).toBe(2);
  });
}
