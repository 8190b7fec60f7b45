import { expect } from "vitest";
import { CoordinationError, type ClaimTable } from "@shoal/coordination";
import { byPiece, type ClaimTableFixture } from "./claim-table-fixture.js";
import { expectRejection } from "./expect-error.js";
import { randomInfoHash } from "./ids.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;

/**
 * Cases of verified pieces a storage-writer holds under its lease (`hold`, `expireLeases`): they
 * go back to missing when the writer's lease lapses, exactly as lapsed claims do. Registered by
 * the ClaimTable contract; each ends with its invariant check.
 */
export function heldPieceCases(scenario: Scenario, leaseTtlMs: number): void {
  scenario("hold takes verified pieces at their attempt and refuses the others, one result each", async (fx, table) => {
    const ih = await fx.torrent(6, [5]);
    const [w, writer] = [await fx.worker(), await fx.worker()];
    const verified = await fx.driveTo(ih, 0, "verified", w);
    const staged = await fx.driveTo(ih, 1, "staged", w);
    const claimed = await fx.driveTo(ih, 2, "claimed", w);
    const stored = await fx.driveTo(ih, 3, "stored", w);
    const results = await table.hold(ih, writer, [
      verified,
      { piece: 0, attempt: verified.attempt + 1 },
      staged,
      claimed,
      stored,
      { piece: 4, attempt: 0 },
      { piece: 5, attempt: 0 },
    ]);
    expect(results).toEqual(["ok", "stale_attempt", "wrong_state", "wrong_state", "wrong_state", "wrong_state", "wrong_state"]);
    expect(await table.piece(ih, 0)).toEqual({ state: "verified", attempt: verified.attempt, holder: writer });
    expect(await table.piece(ih, 2)).toEqual({ state: "claimed", attempt: claimed.attempt, holder: w });
    // A held piece is still verified, counted as such, and not a claim.
    expect(await table.counts(ih)).toEqual({ missing: 1, claimed: 1, staged: 1, verified: 1, stored: 2, skipped: 0 });
    expect(await table.piecesIn(ih, "verified")).toEqual([0]);
    expect(byPiece(await table.claimedBy(ih))).toEqual([claimed]);
    expect(await table.hold(ih, writer, [])).toEqual([]);
  });

  scenario("hold checks every piece before holding any", async (fx, table) => {
    const ih = await fx.torrent(4);
    const w = await fx.worker();
    const verified = await fx.driveTo(ih, 0, "verified", w);
    await expectRejection(() => table.hold(ih, w, [verified, { piece: 4, attempt: 1 }]), CoordinationError, "PIECE_OUT_OF_RANGE", "hold of piece 4 of 4");
    expect(await table.piece(ih, 0)).toEqual({ state: "verified", attempt: verified.attempt });
  });

  scenario("verified pieces held by a lapsed writer go back to missing; a live writer's and unheld ones stay", async (fx, table) => {
    const ih = await fx.torrent(6);
    const [w, lapsed, live] = [await fx.worker(), await fx.worker(), await fx.worker()];
    const pieces = [];
    for (let i = 0; i < 5; i++) pieces.push(await fx.driveTo(ih, i, "verified", w));
    const claim = (await table.claim(ih, lapsed, [5], 1))[0]!;
    expect(await table.hold(ih, lapsed, [pieces[0]!, pieces[1]!])).toEqual(["ok", "ok"]);
    expect(await table.hold(ih, live, [pieces[2]!])).toEqual(["ok"]);
    expect(await table.expireWorkers(ih)).toBe(0);

    await fx.advanceTime(leaseTtlMs * 0.6);
    await table.heartbeat(ih, live, leaseTtlMs);
    await fx.advanceTime(leaseTtlMs * 0.6);
    // The claim and the two held pieces of the lapsed writer, nothing else.
    expect(await table.expireWorkers(ih)).toBe(3);
    expect(await table.expireWorkers(ih)).toBe(0);
    expect((await table.pieces(ih)).map((p) => p.state)).toEqual(["missing", "missing", "verified", "verified", "verified", "missing"]);
    // Nothing but the state moved: the attempt stays until the next claim raises it.
    expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: pieces[0]!.attempt });
    expect(await table.piece(ih, 5)).toEqual({ state: "missing", attempt: claim.attempt });
    expect(await table.piece(ih, 2)).toEqual({ state: "verified", attempt: pieces[2]!.attempt, holder: live });
    expect(await table.counts(ih)).toEqual({ missing: 3, claimed: 0, staged: 0, verified: 3, stored: 0, skipped: 0 });
    // The lapsed writer's late store is refused, and the piece is claimed afresh.
    expect(await table.store(ih, pieces[0]!)).toBe("wrong_state");
    expect(await table.claim(ih, w, [0], 1)).toEqual([{ piece: 0, attempt: pieces[0]!.attempt + 1 }]);
  });

  scenario("a writer that holds without a heartbeat loses its held pieces on the next expiry", async (fx, table) => {
    const ih = await fx.torrent(2);
    const w = await fx.worker();
    const verified = await fx.driveTo(ih, 1, "verified", w);
    expect(await table.hold(ih, "writer-without-lease", [verified])).toEqual(["ok"]);
    expect(await table.expireWorkers(ih)).toBe(1);
    expect(await table.piece(ih, 1)).toEqual({ state: "missing", attempt: verified.attempt });
  });

  scenario("store and unstage end a hold: the writer's lapse no longer moves those pieces", async (fx, table) => {
    const ih = await fx.torrent(3);
    const [w, writer] = [await fx.worker(), await fx.worker()];
    const toStore = await fx.driveTo(ih, 0, "verified", w);
    const toUnstage = await fx.driveTo(ih, 1, "verified", w);
    const kept = await fx.driveTo(ih, 2, "verified", w);
    expect(await table.hold(ih, writer, [toStore, toUnstage, kept])).toEqual(["ok", "ok", "ok"]);
    expect(await table.store(ih, toStore)).toBe("ok");
    expect(await table.unstage(ih, toUnstage)).toBe("ok");
    expect(await table.piece(ih, 0)).toEqual({ state: "stored", attempt: toStore.attempt });
    expect(await table.piece(ih, 1)).toEqual({ state: "missing", attempt: toUnstage.attempt });
    await fx.advanceTime(leaseTtlMs * 2);
    expect(await table.expireLeases(ih)).toEqual([kept]);
    expect((await table.pieces(ih)).map((p) => p.state)).toEqual(["stored", "missing", "missing"]);
  });

  scenario("only the holder releases a held piece, at its attempt; the piece goes back to missing", async (fx, table) => {
    const ih = await fx.torrent(2);
    const [w, writer] = [await fx.worker(), await fx.worker()];
    const verified = await fx.driveTo(ih, 0, "verified", w);
    // Unheld, a verified piece has no holder to release it.
    expect(await table.release(ih, writer, verified)).toBe("not_holder");
    expect(await table.hold(ih, writer, [verified])).toEqual(["ok"]);
    expect(await table.release(ih, w, verified)).toBe("not_holder");
    expect(await table.release(ih, writer, { piece: 0, attempt: verified.attempt + 1 })).toBe("stale_attempt");
    expect(await table.piece(ih, 0)).toEqual({ state: "verified", attempt: verified.attempt, holder: writer });
    expect(await table.release(ih, writer, verified)).toBe("ok");
    expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: verified.attempt });
    expect(await table.counts(ih)).toEqual({ missing: 2, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 });
    // Released, it is no longer the writer's: its lapse moves nothing.
    await fx.advanceTime(leaseTtlMs * 2);
    expect(await table.expireWorkers(ih)).toBe(0);
  });

  scenario("a second writer's hold takes the piece over from the first", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [w, first, second] = [await fx.worker(), await fx.worker(), await fx.worker()];
    const verified = await fx.driveTo(ih, 0, "verified", w);
    expect(await table.hold(ih, first, [verified])).toEqual(["ok"]);
    expect(await table.hold(ih, first, [verified])).toEqual(["ok"]);
    expect(await table.hold(ih, second, [verified])).toEqual(["ok"]);
    expect(await table.piece(ih, 0)).toEqual({ state: "verified", attempt: verified.attempt, holder: second });
    expect(await table.release(ih, first, verified)).toBe("not_holder");
    // The first writer lapses alone: the piece is the second's now and stays.
    await fx.advanceTime(leaseTtlMs * 0.6);
    await table.heartbeat(ih, second, leaseTtlMs);
    await fx.advanceTime(leaseTtlMs * 0.6);
    expect(await table.expireWorkers(ih)).toBe(0);
    await fx.advanceTime(leaseTtlMs);
    expect(await table.expireLeases(ih)).toEqual([verified]);
  });

  scenario("expireLeases moves what expireWorkers moves and lists each piece with its attempt, in piece order", async (fx, table) => {
    const ih = await fx.torrent(6);
    const [w, lapsed] = [await fx.worker(), await fx.worker()];
    const held = [await fx.driveTo(ih, 4, "verified", w), await fx.driveTo(ih, 1, "verified", w)];
    // Piece 2 is on its second attempt when it lapses.
    await fx.driveTo(ih, 2, "missing", w);
    const claims = await table.claim(ih, lapsed, [5, 2, 0], 3);
    expect(await table.hold(ih, lapsed, held)).toEqual(["ok", "ok"]);
    expect(await table.expireLeases(ih)).toEqual([]);
    await fx.advanceTime(leaseTtlMs * 2);
    expect(await table.expireLeases(ih)).toEqual(byPiece([...claims, ...held]));
    expect(claims.find((c) => c.piece === 2)!.attempt).toBe(2);
    expect(await table.expireLeases(ih)).toEqual([]);
    expect(await table.counts(ih)).toEqual({ missing: 6, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 });
  });

  scenario("hold and expireLeases throw UNKNOWN_TORRENT for a torrent never created", async (_fx, table) => {
    const ih = randomInfoHash();
    await expectRejection(() => table.hold(ih, "w", [{ piece: 0, attempt: 1 }]), CoordinationError, "UNKNOWN_TORRENT", "hold");
    await expectRejection(() => table.expireLeases(ih), CoordinationError, "UNKNOWN_TORRENT", "expireLeases");
  });

  scenario("after close hold and expireLeases throw CoordinationError BACKEND_UNAVAILABLE, retryable", async (fx, table) => {
    const ih = await fx.torrent(2);
    const w = await fx.worker();
    const verified = await fx.driveTo(ih, 0, "verified", w);
    fx.forget(ih);
    await table.close();
    const calls: Record<string, () => Promise<unknown>> = {
      hold: () => table.hold(ih, w, [verified]),
      expireLeases: () => table.expireLeases(ih),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectRejection(call, CoordinationError, "BACKEND_UNAVAILABLE", `${name} after close`);
      expect(err.retryable, `${name} after close: retryable`).toBe(true);
    }
  });
}
