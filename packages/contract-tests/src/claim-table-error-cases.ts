/**
 * The errors of the ClaimTable contract: UNKNOWN_TORRENT from every torrent method for a torrent
 * never created, PIECE_OUT_OF_RANGE from every method that takes a piece index, and a retryable
 * BACKEND_UNAVAILABLE from every method after close.
 */
import { expect } from "vitest";
import { CoordinationError, type ClaimTable } from "@shoal/coordination";
import type { ClaimTableFixture } from "./claim-table-fixture.js";
import { expectRejection } from "./expect-error.js";
import { randomInfoHash } from "./ids.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;
type PortScenario = (title: string, body: (table: ClaimTable) => Promise<void>) => void;

/** Registers these cases with the contract's `scenario` and `portScenario`. */
export function claimTableErrorCases(scenario: Scenario, portScenario: PortScenario, leaseTtlMs: number): void {
  scenario("every torrent method throws UNKNOWN_TORRENT for a torrent never created", async (_fx, table) => {
    const ih = randomInfoHash();
    const claim = { piece: 0, attempt: 1 };
    const calls: Record<string, () => Promise<unknown>> = {
      claim: () => table.claim(ih, "w", [0], 1),
      release: () => table.release(ih, "w", claim),
      stage: () => table.stage(ih, "w", claim),
      verify: () => table.verify(ih, claim),
      reject: () => table.reject(ih, claim, ["10.0.0.1:1"]),
      store: () => table.store(ih, claim),
      unstage: () => table.unstage(ih, claim),
      claimedBy: () => table.claimedBy(ih),
      counts: () => table.counts(ih),
      piece: () => table.piece(ih, 0),
      pieces: () => table.pieces(ih),
      piecesIn: () => table.piecesIn(ih, "missing"),
      isBanned: () => table.isBanned(ih, "10.0.0.1:1"),
      bannedPeers: () => table.bannedPeers(ih),
      publishAvailability: () => table.publishAvailability(ih, "w", new Uint16Array(4)),
      availability: () => table.availability(ih),
    };
    for (const [name, call] of Object.entries(calls)) {
      await expectRejection(call, CoordinationError, "UNKNOWN_TORRENT", name);
    }
  });

  scenario("every method that takes a piece index throws PIECE_OUT_OF_RANGE for a bad one", async (fx, table) => {
    const ih = await fx.torrent(4);
    const w = await fx.worker();
    await expectRejection(() => table.createTorrent(randomInfoHash(), 4, [4]), CoordinationError, "PIECE_OUT_OF_RANGE", "stored 4 of 4");
    for (const bad of [-1, 4, 1.5]) {
      const claim = { piece: bad, attempt: 1 };
      const calls: Record<string, () => Promise<unknown>> = {
        claim: () => table.claim(ih, w, [bad], 1),
        release: () => table.release(ih, w, claim),
        stage: () => table.stage(ih, w, claim),
        verify: () => table.verify(ih, claim),
        reject: () => table.reject(ih, claim, []),
        store: () => table.store(ih, claim),
        unstage: () => table.unstage(ih, claim),
        piece: () => table.piece(ih, bad),
      };
      for (const [name, call] of Object.entries(calls)) {
        await expectRejection(call, CoordinationError, "PIECE_OUT_OF_RANGE", `${name} of piece ${bad}`);
      }
    }
    expect(await table.counts(ih)).toEqual({ missing: 4, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 });
  });

  // Not wrapped in the fixture: its closing invariant check would read the closed table.
  portScenario("after close every method throws CoordinationError BACKEND_UNAVAILABLE, retryable", async (table) => {
    const ih = randomInfoHash();
    await table.createTorrent(ih, 4, []);
    await table.heartbeat(ih, "w", leaseTtlMs);
    const [claim] = await table.claim(ih, "w", [0], 1);
    await table.close();
    const calls: Record<string, () => Promise<unknown>> = {
      createTorrent: () => table.createTorrent(randomInfoHash(), 4, []),
      deleteTorrent: () => table.deleteTorrent(ih),
      heartbeat: () => table.heartbeat(ih, "w", leaseTtlMs),
      claim: () => table.claim(ih, "w", [1], 1),
      release: () => table.release(ih, "w", claim!),
      stage: () => table.stage(ih, "w", claim!),
      verify: () => table.verify(ih, claim!),
      reject: () => table.reject(ih, claim!, ["10.0.0.1:1"]),
      store: () => table.store(ih, claim!),
      unstage: () => table.unstage(ih, claim!),
      expireWorkers: () => table.expireWorkers(ih),
      claimedBy: () => table.claimedBy(ih),
      counts: () => table.counts(ih),
      piece: () => table.piece(ih, 0),
      pieces: () => table.pieces(ih),
      piecesIn: () => table.piecesIn(ih, "missing"),
      isBanned: () => table.isBanned(ih, "10.0.0.1:1"),
      bannedPeers: () => table.bannedPeers(ih),
      publishAvailability: () => table.publishAvailability(ih, "w", new Uint16Array(4)),
      availability: () => table.availability(ih),
      withdrawAvailability: () => table.withdrawAvailability(ih, "w"),
      peerWorkerPresence: () => table.peerWorkerPresence("w", leaseTtlMs),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectRejection(call, CoordinationError, "BACKEND_UNAVAILABLE", `${name} after close`);
      expect(err.retryable, `${name} after close: retryable`).toBe(true);
    }
    // A second close is harmless: teardown closes every port again.
    await table.close();
  });
}
