/**
 * Claims and the transitions after them, part of the ClaimTable contract: claim order, checks and
 * attempts, who may release and stage, every transition from every state against TRANSITIONS,
 * stale attempts, rejections' strikes and bans, and what a lapsed lease gives back. Each case
 * ends with its invariant check.
 */
import { expect } from "vitest";
import { BAN_STRIKES, CoordinationError, PIECE_STATES, TRANSITIONS, isLegal, type ClaimTable, type Transition } from "@shoal/coordination";
import { CLAIM_TRANSITIONS, refusalsFor, type ClaimTableFixture } from "./claim-table-fixture.js";
import { expectRejection } from "./expect-error.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;

/** Registers these cases with the contract's `scenario`. */
export function claimTableTransitionCases(scenario: Scenario, leaseTtlMs: number): void {
  scenario("claim takes candidates in the given order, up to max", async (fx, table) => {
    const ih = await fx.torrent(8);
    const w = await fx.worker();
    expect(await table.claim(ih, w, [5, 2, 7, 1], 3)).toEqual([
      { piece: 5, attempt: 1 },
      { piece: 2, attempt: 1 },
      { piece: 7, attempt: 1 },
    ]);
    expect(await table.piece(ih, 2)).toEqual({ state: "claimed", attempt: 1, holder: w });
    expect(await table.piece(ih, 1)).toEqual({ state: "missing", attempt: 0 });
    expect(await table.claim(ih, w, [0, 1], 0)).toEqual([]);
    expect(await table.claim(ih, w, [], 4)).toEqual([]);
    expect(await table.counts(ih)).toMatchObject({ missing: 5, claimed: 3 });
  });

  scenario("claim skips pieces that are not missing", async (fx, table) => {
    const ih = await fx.torrent(8, [0]);
    const [a, b] = [await fx.worker(), await fx.worker()];
    await table.claim(ih, a, [1], 1);
    await fx.driveTo(ih, 2, "staged", a);
    await fx.driveTo(ih, 3, "verified", a);
    await fx.driveTo(ih, 4, "stored", a);
    expect(await table.claim(ih, b, [0, 1, 2, 3, 4, 5, 5, 6], 8)).toEqual([
      { piece: 5, attempt: 1 },
      { piece: 6, attempt: 1 },
    ]);
    expect((await table.piece(ih, 1)).holder).toBe(a);
  });

  scenario("claim checks every candidate before taking any", async (fx, table) => {
    const ih = await fx.torrent(4);
    const w = await fx.worker();
    await expectRejection(() => table.claim(ih, w, [0, 1, 4], 3), CoordinationError, "PIECE_OUT_OF_RANGE", "claim of piece 4 of 4");
    expect(await table.counts(ih)).toEqual({ missing: 4, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 });
  });

  scenario("each claim of a piece raises its attempt", async (fx, table) => {
    const ih = await fx.torrent(2);
    const w = await fx.worker();
    const first = await fx.driveTo(ih, 0, "missing", w);
    expect(first.attempt).toBe(1);
    const [second] = await table.claim(ih, w, [0], 1);
    expect(second).toEqual({ piece: 0, attempt: 2 });
    expect(await table.stage(ih, w, second!)).toBe("ok");
    expect((await table.reject(ih, second!, [])).result).toBe("ok");
    const staged = await fx.driveTo(ih, 0, "verified", w);
    expect(staged.attempt).toBe(3);
    expect(await table.unstage(ih, staged)).toBe("ok");
    expect(await table.claim(ih, w, [0], 1)).toEqual([{ piece: 0, attempt: 4 }]);
  });

  scenario("only the holder at the current attempt may release", async (fx, table) => {
    const ih = await fx.torrent(2);
    const [a, b] = [await fx.worker(), await fx.worker()];
    const [claim] = await table.claim(ih, a, [0], 1);
    expect(await table.release(ih, b, claim!)).toBe("not_holder");
    expect(await table.release(ih, a, { piece: 0, attempt: claim!.attempt + 1 })).toBe("stale_attempt");
    expect(await table.piece(ih, 0)).toEqual({ state: "claimed", attempt: 1, holder: a });
    expect(await table.release(ih, a, claim!)).toBe("ok");
    expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: 1 });
    expect(await table.release(ih, a, claim!)).not.toBe("ok");
  });

  scenario("any worker may stage the current attempt and the first stage wins", async (fx, table) => {
    const ih = await fx.torrent(2);
    const [holder, duplicate] = [await fx.worker(), await fx.worker()];
    const [claim] = await table.claim(ih, holder, [1], 1);
    expect(await table.stage(ih, duplicate, claim!)).toBe("ok");
    expect(await table.stage(ih, holder, claim!)).toBe("wrong_state");
    // The piece is now the stager's, under its lease.
    expect(await table.piece(ih, 1)).toEqual({ state: "staged", attempt: 1, holder: duplicate });
  });

  scenario("every transition from every state follows the TRANSITIONS table", async (fx, table) => {
    const transitions = Object.keys(TRANSITIONS) as Transition[];
    // `skipped` is only ever set at creation; its own case checks that nothing moves it.
    const states = PIECE_STATES.filter((s) => s !== "skipped");
    const ih = await fx.torrent(transitions.length * states.length);
    const w = await fx.worker();
    let piece = 0;
    for (const transition of transitions) {
      for (const from of states) {
        const label = `${transition} from ${from}`;
        const claim = await fx.driveTo(ih, piece, from, w);
        // A verified piece is held by the worker, which makes it its holder: releasing it is then legal.
        if (from === "verified") expect(await table.hold(ih, w, [claim]), label).toEqual(["ok"]);
        const before = await table.piece(ih, piece);
        const legal = isLegal(transition, from);
        if (transition === "claim") {
          const expected = legal ? [{ piece, attempt: claim.attempt + 1 }] : [];
          expect(await table.claim(ih, w, [piece], 1), label).toEqual(expected);
        } else {
          const result = await fx.apply(transition, ih, claim, w);
          if (legal) expect(result, label).toBe("ok");
          else expect(refusalsFor(transition, before, claim, w), label).toContain(result);
        }
        const after = await table.piece(ih, piece);
        expect(after.state, label).toBe(legal ? TRANSITIONS[transition].to : from);
        expect(after.attempt, label).toBe(transition === "claim" && legal ? claim.attempt + 1 : claim.attempt);
        piece++;
      }
    }
  });

  scenario("every transition refuses a stale attempt and changes nothing", async (fx, table) => {
    const ih = await fx.torrent(CLAIM_TRANSITIONS.length * PIECE_STATES.length);
    const w = await fx.worker();
    let piece = 0;
    for (const transition of CLAIM_TRANSITIONS) {
      for (const from of TRANSITIONS[transition].from) {
        // Two rounds, so the stale attempt below the current one is a real earlier attempt.
        await fx.driveTo(ih, piece, "missing", w);
        const claim = await fx.driveTo(ih, piece, from, w);
        const before = await table.piece(ih, piece);
        for (const attempt of [claim.attempt - 1, claim.attempt + 1]) {
          const label = `${transition} from ${from} with attempt ${attempt} (current ${claim.attempt})`;
          expect(await fx.apply(transition, ih, { piece, attempt }, w), label).toBe("stale_attempt");
          expect(await table.piece(ih, piece), label).toEqual(before);
        }
        piece++;
      }
    }
  });

  scenario("rejections strike every blamed peer and BAN_STRIKES bans it, reported once", async (fx, table) => {
    const ih = await fx.torrent(2);
    const w = await fx.worker();
    const peers = ["10.0.0.1:6881", "10.0.0.2:51413"];
    for (let strike = 1; strike <= BAN_STRIKES; strike++) {
      expect(await table.isBanned(ih, peers[0]!)).toBe(false);
      const claim = await fx.driveTo(ih, 0, "staged", w);
      const outcome = await table.reject(ih, claim, peers);
      expect(outcome.result).toBe("ok");
      expect([...outcome.banned].sort()).toEqual(strike === BAN_STRIKES ? peers : []);
      expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: claim.attempt });
    }
    expect(await table.isBanned(ih, peers[0]!)).toBe(true);
    expect((await table.bannedPeers(ih)).sort()).toEqual(peers);
    const again = await fx.driveTo(ih, 0, "staged", w);
    expect(await table.reject(ih, again, [peers[1]!])).toEqual({ result: "ok", banned: [] });
    expect((await table.bannedPeers(ih)).sort()).toEqual(peers);
  });

  scenario("a peer named twice in one rejection gets one strike", async (fx, table) => {
    const ih = await fx.torrent(1);
    const w = await fx.worker();
    const peer = "10.0.0.9:6881";
    for (let strike = 1; strike < BAN_STRIKES; strike++) {
      const claim = await fx.driveTo(ih, 0, "staged", w);
      expect((await table.reject(ih, claim, [peer, peer])).banned).toEqual([]);
    }
    expect(await table.isBanned(ih, peer)).toBe(false);
  });

  scenario("a refused rejection strikes nobody", async (fx, table) => {
    const ih = await fx.torrent(2);
    const w = await fx.worker();
    const peer = "10.0.0.7:6881";
    const claimed = await fx.driveTo(ih, 0, "claimed", w);
    const staged = await fx.driveTo(ih, 1, "staged", w);
    for (let i = 0; i < BAN_STRIKES; i++) {
      expect(await table.reject(ih, claimed, [peer])).toEqual({ result: "wrong_state", banned: [] });
      expect(await table.reject(ih, { piece: 1, attempt: staged.attempt + 1 }, [peer])).toEqual({
        result: "stale_attempt",
        banned: [],
      });
    }
    expect(await table.isBanned(ih, peer)).toBe(false);
    expect(await table.bannedPeers(ih)).toEqual([]);
  });

  scenario("expireWorkers returns the claims and staged pieces of a lapsed worker and keeps a live worker's", async (fx, table) => {
    const ih = await fx.torrent(8);
    const other = await fx.torrent(2);
    const [lapsed, live] = [await fx.worker(), await fx.worker()];
    const lapsedClaims = await table.claim(ih, lapsed, [0, 1, 2], 3);
    await table.claim(other, lapsed, [0], 1);
    expect(await table.stage(ih, lapsed, lapsedClaims[2]!)).toBe("ok");
    await table.claim(ih, live, [3, 4], 2);
    expect(await table.expireWorkers(ih)).toBe(0);

    await fx.advanceTime(leaseTtlMs * 0.6);
    await table.heartbeat(ih, live, leaseTtlMs);
    // A lease is per torrent: the heartbeat on `ih` does not keep `lapsed`'s claims elsewhere.
    await table.heartbeat(other, lapsed, leaseTtlMs);
    await fx.advanceTime(leaseTtlMs * 0.6);
    // Its two claims, and the piece it staged: its message may never have left.
    expect(await table.expireWorkers(ih)).toBe(3);
    expect(await table.expireWorkers(ih)).toBe(0);
    expect(await table.expireWorkers(other)).toBe(0);
    expect(await table.piece(other, 0)).toMatchObject({ state: "claimed", holder: lapsed });
    await fx.advanceTime(leaseTtlMs);
    expect(await table.expireWorkers(other)).toBe(1);

    expect((await table.pieces(ih)).map((p) => p.state)).toEqual([
      "missing",
      "missing",
      "missing",
      "claimed",
      "claimed",
      "missing",
      "missing",
      "missing",
    ]);
    expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: 1 });
    expect(await table.piece(other, 0)).toEqual({ state: "missing", attempt: 1 });
    expect(await table.piece(ih, 3)).toEqual({ state: "claimed", attempt: 1, holder: live });
    // The lapsed worker's late messages are refused, and the piece is claimed afresh.
    expect(await table.stage(ih, lapsed, lapsedClaims[0]!)).toBe("wrong_state");
    expect(await table.claim(ih, live, [0], 1)).toEqual([{ piece: 0, attempt: 2 }]);
  });

  scenario("a staged piece is the stager's until the verifier moves it on; the stager may release it", async (fx, table) => {
    const ih = await fx.torrent(4);
    const w = await fx.worker();
    const staged = await fx.driveTo(ih, 0, "staged", w);
    expect(await table.piece(ih, 0)).toEqual({ state: "staged", attempt: staged.attempt, holder: w });
    // Its message could not be sent: the stager gives it back, no one else may.
    expect(await table.release(ih, await fx.worker(), staged)).toBe("not_holder");
    expect(await table.release(ih, w, staged)).toBe("ok");
    expect(await table.piece(ih, 0)).toEqual({ state: "missing", attempt: staged.attempt });
    // Verify and reject end the hold: the stager's lapse no longer moves those pieces.
    const verified = await fx.driveTo(ih, 1, "verified", w);
    const rejected = await fx.driveTo(ih, 2, "staged", w);
    expect((await table.reject(ih, rejected, [])).result).toBe("ok");
    expect(await table.piece(ih, 1)).toEqual({ state: "verified", attempt: verified.attempt });
    await fx.advanceTime(2 * leaseTtlMs);
    expect(await table.expireLeases(ih)).toEqual([]);
    // A stage by a worker that never sent a heartbeat lapses at the next expiry.
    const [claim] = await table.claim(ih, w, [3], 1);
    await table.heartbeat(ih, w, leaseTtlMs);
    expect(await table.stage(ih, "worker-without-lease", claim!)).toBe("ok");
    expect(await table.expireLeases(ih)).toEqual([{ piece: 3, attempt: claim!.attempt }]);
  });

  scenario("claims of a worker that never sent a heartbeat are expired", async (fx, table) => {
    const ih = await fx.torrent(2);
    await table.claim(ih, "worker-without-lease", [1], 1);
    expect(await table.expireWorkers(ih)).toBe(1);
    expect(await table.piece(ih, 1)).toEqual({ state: "missing", attempt: 1 });
  });
}
