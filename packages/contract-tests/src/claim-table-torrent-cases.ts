/**
 * A torrent's table, part of the ClaimTable contract: creation with stored and skipped pieces,
 * startJob keeping the table for the same job and rebuilding it for another, deletion, and what
 * claimedBy, counts, piecesIn and pieces report. Each case ends with its invariant check.
 */
import { expect } from "vitest";
import { BAN_STRIKES, CoordinationError, PIECE_STATES, type ClaimTable } from "@shoal/coordination";
import { byPiece, type ClaimTableFixture } from "./claim-table-fixture.js";
import { expectRejection } from "./expect-error.js";
import { randomInfoHash } from "./ids.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;

/** Registers these cases with the contract's `scenario`. */
export function claimTableTorrentCases(scenario: Scenario): void {
  scenario("createTorrent makes every piece missing except the stored ones", async (fx, table) => {
    const ih = await fx.torrent(6, [1, 4]);
    expect(await table.counts(ih)).toEqual({ missing: 4, claimed: 0, staged: 0, verified: 0, stored: 2, skipped: 0 });
    expect((await table.piecesIn(ih, "stored")).sort((a, b) => a - b)).toEqual([1, 4]);
    const pieces = await table.pieces(ih);
    expect(pieces.map((p) => p.state)).toEqual(["missing", "stored", "missing", "missing", "stored", "missing"]);
    for (const p of pieces) expect(p.holder).toBeUndefined();
    expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: 0 });
  });

  scenario("skipped pieces are counted apart, never claimed, and stored wins over skipped", async (fx, table) => {
    const ih = await fx.torrent(6, [1], [0, 1, 2]);
    expect(await table.counts(ih)).toEqual({ missing: 3, claimed: 0, staged: 0, verified: 0, stored: 1, skipped: 2 });
    expect((await table.piecesIn(ih, "skipped")).sort((a, b) => a - b)).toEqual([0, 2]);
    const w = await fx.worker();
    expect(await table.claim(ih, w, [0, 2, 3, 1, 4], 5)).toEqual([
      { piece: 3, attempt: 1 },
      { piece: 4, attempt: 1 },
    ]);
    expect(await table.piece(ih, 0)).toEqual({ state: "skipped", attempt: 0 });
    expect(await table.claimedBy(ih)).toHaveLength(2);
    for (const t of ["release", "stage", "verify", "store", "unstage"] as const) {
      expect(await fx.apply(t, ih, { piece: 2, attempt: 0 }, w), `${t} of a skipped piece`).toBe("wrong_state");
    }
    expect((await table.reject(ih, { piece: 2, attempt: 0 }, [])).result).toBe("wrong_state");
    expect(await table.piece(ih, 2)).toEqual({ state: "skipped", attempt: 0 });
  });

  scenario("createTorrent a second time keeps the first table", async (fx, table) => {
    const ih = await fx.torrent(4, [3]);
    const w = await fx.worker();
    await table.claim(ih, w, [0], 1);
    await table.createTorrent(ih, 10, [0, 1]);
    expect((await table.pieces(ih)).map((p) => p.state)).toEqual(["claimed", "missing", "missing", "stored"]);
  });

  scenario("startJob makes the table of a torrent that has none, and keeps it for the same job", async (fx, table) => {
    const ih = randomInfoHash();
    expect(await table.startJob(ih, "job-1", 5, [1], [4])).toBe("created");
    fx.track(ih);
    expect((await table.pieces(ih)).map((p) => p.state)).toEqual(["missing", "stored", "missing", "missing", "skipped"]);
    const w = await fx.worker();
    const staged = await fx.driveTo(ih, 0, "staged", w);
    const [claimed] = await table.claim(ih, w, [2], 1);
    // The job moved to another owner, whose recheck cannot see what is not finished yet.
    expect(await table.startJob(ih, "job-1", 5, [], [])).toBe("kept");
    expect(await table.startJob(ih, "job-1", 5, [99], [])).toBe("kept");
    expect(await table.piece(ih, 0)).toEqual({ state: "staged", attempt: staged.attempt, holder: w });
    expect(await table.piece(ih, 2)).toEqual({ state: "claimed", attempt: claimed!.attempt, holder: w });
    expect(await table.counts(ih)).toEqual({ missing: 1, claimed: 1, staged: 1, verified: 0, stored: 1, skipped: 1 });
  });

  scenario("startJob for another job rebuilds the table from the recheck, keeping attempts, strikes, bans and leases", async (fx, table) => {
    const ih = await fx.torrent(6, [5]);
    const w = await fx.worker();
    const writer = await fx.worker();
    const stored = await fx.driveTo(ih, 0, "stored", w);
    const held = await fx.driveTo(ih, 1, "verified", w);
    expect(await table.hold(ih, writer, [held])).toEqual(["ok"]);
    const staged = await fx.driveTo(ih, 2, "staged", w);
    const [claimed] = await table.claim(ih, w, [3], 1);
    const bad = await fx.driveTo(ih, 4, "staged", w);
    for (let i = 0; i < BAN_STRIKES; i++) {
      const c = i === 0 ? bad : (await table.claim(ih, w, [4], 1))[0]!;
      if (i > 0) expect(await table.stage(ih, w, c)).toBe("ok");
      await table.reject(ih, c, ["10.0.0.9:6881"]);
    }
    expect(await table.isBanned(ih, "10.0.0.9:6881")).toBe(true);
    const attemptsBefore = (await table.pieces(ih)).map((p) => p.attempt);

    // Another job: the recheck found pieces 1 and 5 in the destination, not 0 (its object is gone).
    expect(await table.startJob(ih, "job-2", 6, [1, 5], [])).toBe("rebuilt");
    const pieces = await table.pieces(ih);
    expect(pieces.map((p) => p.state)).toEqual(["missing", "stored", "missing", "missing", "missing", "stored"]);
    for (const p of pieces) expect(p.holder).toBeUndefined();
    expect(pieces.map((p) => p.attempt)).toEqual(attemptsBefore);
    expect(await table.counts(ih)).toEqual({ missing: 4, claimed: 0, staged: 0, verified: 0, stored: 2, skipped: 0 });
    expect(await table.claimedBy(ih)).toEqual([]);
    expect(await table.isBanned(ih, "10.0.0.9:6881")).toBe(true);
    // Late messages of the earlier job are stale; the next claim raises the attempt.
    expect(await table.verify(ih, staged)).toBe("wrong_state");
    expect(await table.store(ih, stored)).toBe("wrong_state");
    expect(await table.release(ih, w, claimed!)).not.toBe("ok");
    expect(await table.release(ih, writer, held)).not.toBe("ok");
    expect(await table.claim(ih, w, [0], 1)).toEqual([{ piece: 0, attempt: stored.attempt + 1 }]);
    // Nothing of the earlier job is left for a lease to take back: once every lease lapsed,
    // only the new claim moves.
    await fx.advanceTime(2 * fx.leaseTtlMs);
    expect(await table.expireLeases(ih)).toEqual([{ piece: 0, attempt: stored.attempt + 1 }]);
    // And the new job keeps its table when it moves to another owner.
    expect(await table.startJob(ih, "job-2", 6, [], [])).toBe("kept");
  });

  scenario("startJob refuses a bad index before changing anything", async (fx, table) => {
    const ih = await fx.torrent(4, [0]);
    await expectRejection(() => table.startJob(ih, "job-1", 4, [4]), CoordinationError, "PIECE_OUT_OF_RANGE", "stored 4 of 4");
    await expectRejection(() => table.startJob(ih, "job-1", 4, [], [-1]), CoordinationError, "PIECE_OUT_OF_RANGE", "skipped -1 of 4");
    expect((await table.pieces(ih)).map((p) => p.state)).toEqual(["stored", "missing", "missing", "missing"]);
    expect(await table.startJob(ih, "job-1", 4, [1])).toBe("rebuilt");
  });

  scenario("deleteTorrent forgets the torrent", async (fx, table) => {
    const ih = await fx.torrent(4);
    await table.claim(ih, await fx.worker(), [0], 1);
    await table.deleteTorrent(ih);
    fx.forget(ih);
    await expectRejection(() => table.counts(ih), CoordinationError, "UNKNOWN_TORRENT", "counts after deleteTorrent");
    await table.createTorrent(ih, 2, []);
    expect(await table.counts(ih)).toEqual({ missing: 2, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 });
    await table.deleteTorrent(ih);
  });

  scenario("claimedBy lists the claims of other workers", async (fx, table) => {
    const ih = await fx.torrent(6);
    const [a, b] = [await fx.worker(), await fx.worker()];
    await table.claim(ih, a, [0, 1], 2);
    await table.claim(ih, b, [2], 1);
    await fx.driveTo(ih, 3, "staged", b);
    expect(await table.stage(ih, a, { piece: 1, attempt: 1 })).toBe("ok");
    expect(byPiece(await table.claimedBy(ih, a))).toEqual([{ piece: 2, attempt: 1 }]);
    expect(byPiece(await table.claimedBy(ih, b))).toEqual([{ piece: 0, attempt: 1 }]);
    expect(byPiece(await table.claimedBy(ih))).toEqual([
      { piece: 0, attempt: 1 },
      { piece: 2, attempt: 1 },
    ]);
  });

  scenario("counts, piecesIn and pieces agree on a table in every state", async (fx, table) => {
    const ih = await fx.torrent(9, [8]);
    const w = await fx.worker();
    await fx.driveTo(ih, 1, "claimed", w);
    await fx.driveTo(ih, 2, "staged", w);
    await fx.driveTo(ih, 3, "verified", w);
    await fx.driveTo(ih, 4, "stored", w);
    await fx.driveTo(ih, 5, "missing", w);
    expect(await table.counts(ih)).toEqual({ missing: 4, claimed: 1, staged: 1, verified: 1, stored: 2, skipped: 0 });
    const sorted = async (state: (typeof PIECE_STATES)[number]) => (await table.piecesIn(ih, state)).sort((a, b) => a - b);
    expect(await sorted("missing")).toEqual([0, 5, 6, 7]);
    expect(await sorted("claimed")).toEqual([1]);
    expect(await sorted("staged")).toEqual([2]);
    expect(await sorted("verified")).toEqual([3]);
    expect(await sorted("stored")).toEqual([4, 8]);
    const pieces = await table.pieces(ih);
    expect(pieces).toHaveLength(9);
    expect(pieces[1]).toEqual({ state: "claimed", attempt: 1, holder: w });
    expect(pieces[4]).toEqual({ state: "stored", attempt: 1 });
    expect(pieces[8]).toEqual({ state: "stored", attempt: 0 });
  });
}
