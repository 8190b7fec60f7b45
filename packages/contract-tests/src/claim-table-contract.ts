import { describe, expect } from "vitest";
import {
  BAN_STRIKES,
  CoordinationError,
  PIECE_STATES,
  TRANSITIONS,
  isLegal,
  type ClaimTable,
  type Transition,
} from "@shoal/coordination";
import { claimTableAvailabilityCases } from "./claim-table-availability.js";
import { CLAIM_TRANSITIONS, ClaimTableFixture, byPiece, refusalsFor } from "./claim-table-fixture.js";
import { heldPieceCases } from "./claim-table-held-cases.js";
import { claimTablePeerCases } from "./claim-table-peers.js";
import { claimTableProperty } from "./claim-table-property.js";
import { expectRejection } from "./expect-error.js";
import { caseRegistry, type PortHarness } from "./harness.js";
import { randomInfoHash } from "./ids.js";

export interface ClaimTableHarness extends PortHarness<ClaimTable> {
  /**
   * Moves the table's clock forward by `ms`: a fake clock for the memory table, real waiting for
   * a server whose leases expire on its own clock.
   */
  advanceTime(ms: number): Promise<void>;
  /** Lease length the cases use; keep it well above one call's latency. Default 1000 ms. */
  readonly leaseTtlMs?: number;
  /** Runs of the random-operations property. Default 100. */
  readonly propertyRuns?: number;
}

/** With a fake clock the length is arbitrary; one second is long enough that no call outlives it. */
const DEFAULT_LEASE_TTL_MS = 1_000;

/** Cases every ClaimTable adapter must pass; each ends with `checkInvariants` on every torrent it made. */
export function claimTableContract(harness: ClaimTableHarness): void {
  const leaseTtlMs = harness.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  describe(`ClaimTable contract: ${harness.name}`, () => {
    const { scenario: portScenario, done } = caseRegistry(harness);
    const scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>): void =>
      portScenario(title, async (table) => {
        const fx = new ClaimTableFixture(table, leaseTtlMs, (ms) => harness.advanceTime(ms));
        await body(fx, table);
        await fx.expectSound();
      });

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
      };
      for (const [name, call] of Object.entries(calls)) {
        const err = await expectRejection(call, CoordinationError, "BACKEND_UNAVAILABLE", `${name} after close`);
        expect(err.retryable, `${name} after close: retryable`).toBe(true);
      }
      // A second close is harmless: teardown closes every port again.
      await table.close();
    });

    claimTableProperty(portScenario, harness, leaseTtlMs);
    heldPieceCases(scenario, leaseTtlMs);
    claimTablePeerCases(scenario, portScenario, harness, leaseTtlMs);
    claimTableAvailabilityCases(scenario, leaseTtlMs);
    done();
  });
}
