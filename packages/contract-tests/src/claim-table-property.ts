import fc from "fast-check";
import { expect } from "vitest";
import { checkInvariants, type ClaimTable } from "@shoal/coordination";
import { applyTransition, byPiece } from "./claim-table-fixture.js";
import { ClaimTableModel } from "./claim-table-model.js";
import type { ClaimTableHarness } from "./claim-table-contract.js";
import { randomId, randomInfoHash } from "./ids.js";

/** Small enough that random operations collide on the same pieces, workers and peers often. */
const PIECES = 6;
const WORKERS = 3;
const PEERS = ["10.1.0.1:6881", "10.1.0.2:6881", "10.1.0.3:6881"] as const;
/** Long enough for a piece to go round the whole state machine a few times in one run. */
const MAX_OPS = 40;
/** Enough runs to cover many interleavings on every CI run while staying well under a second in memory. */
const DEFAULT_RUNS = 100;

type Op =
  | { readonly kind: "heartbeat"; readonly worker: number }
  | { readonly kind: "advance" }
  | { readonly kind: "expire" }
  | { readonly kind: "expireLeases" }
  | { readonly kind: "drive"; readonly worker: number; readonly piece: number }
  | { readonly kind: "hold"; readonly worker: number; readonly pieces: readonly Target[] }
  | { readonly kind: "claim"; readonly worker: number; readonly candidates: readonly number[]; readonly max: number }
  | ({ readonly kind: "release" | "stage" | "verify" | "store" | "unstage"; readonly worker: number } & Target)
  | ({ readonly kind: "reject"; readonly peers: readonly number[] } & Target);

/**
 * The piece a transition is tried on: `piece` itself, or with `ready` the first piece from
 * `piece` on (wrapping) whose state the transition is legal from, so that pieces get far along
 * the state machine (verified, held) in runs of random operations. `shift` moves the attempt.
 */
interface Target {
  readonly piece: number;
  readonly ready: boolean;
  readonly shift: number;
}

const worker = fc.nat(WORKERS - 1);
const piece = fc.nat(PIECES - 1);
/** Mostly the current attempt, sometimes one off either way (a late or a future message). */
const shift = fc.constantFrom(0, 0, 0, -1, 1);
const target = { piece, ready: fc.constantFrom(true, true, true, false), shift };
const transitionOp = (kind: "release" | "stage" | "verify" | "store" | "unstage") => fc.record({ kind: fc.constant(kind), worker, ...target });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), worker }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("advance" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("expire" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("expireLeases" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("drive" as const), worker, piece }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("hold" as const), worker, pieces: fc.array(fc.record(target), { minLength: 1, maxLength: 3 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("claim" as const), worker, candidates: fc.array(piece, { maxLength: 5 }), max: fc.nat(4) }),
    weight: 4,
  },
  { arbitrary: transitionOp("release"), weight: 2 },
  { arbitrary: transitionOp("stage"), weight: 3 },
  { arbitrary: transitionOp("verify"), weight: 2 },
  { arbitrary: transitionOp("store"), weight: 2 },
  { arbitrary: transitionOp("unstage"), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant("reject" as const),
      ...target,
      peers: fc.uniqueArray(fc.nat(PEERS.length - 1), { maxLength: PEERS.length }),
    }),
    weight: 2,
  },
);

/**
 * Registers the property: random sequences of operations never break `checkInvariants`, and
 * every result and snapshot agrees with ClaimTableModel. Each run uses its own torrent and
 * workers on the case's port and deletes the torrent afterwards.
 */
export function claimTableProperty(
  scenario: (title: string, body: (table: ClaimTable) => Promise<void>) => void,
  harness: ClaimTableHarness,
  leaseTtlMs: number,
): void {
  // Time moves in steps that never add up to exactly one lease, so no check lands on the instant
  // a lease ends (where adapters may round either way).
  let stepMs = Math.floor(leaseTtlMs * 0.3);
  if (leaseTtlMs % stepMs === 0) stepMs++;

  scenario("random operations keep the invariants and agree with a simple model", async (table) => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(piece, { maxLength: 2 }), fc.array(opArb, { minLength: 1, maxLength: MAX_OPS, size: "max" }), async (stored, ops) => {
        const ih = randomInfoHash();
        const workers = Array.from({ length: WORKERS }, () => randomId("worker"));
        await table.createTorrent(ih, PIECES, stored);
        const model = new ClaimTableModel(PIECES, stored);
        try {
          for (const [n, op] of ops.entries()) {
            const label = `op ${n} ${JSON.stringify(op)}`;
            await step(table, model, ih, workers, op, label);
            const pieces = await table.pieces(ih);
            expect(checkInvariants(pieces), label).toEqual([]);
            expect(pieces, label).toEqual(model.records());
          }
          expect(await table.counts(ih)).toEqual(model.counts());
          expect(byPiece(await table.claimedBy(ih))).toEqual(model.claimed());
          expect((await table.bannedPeers(ih)).sort()).toEqual(model.bannedPeers());
        } finally {
          await table.deleteTorrent(ih);
        }
      }),
      { numRuns: harness.propertyRuns ?? DEFAULT_RUNS },
    );
  });

  async function step(table: ClaimTable, model: ClaimTableModel, ih: string, workers: readonly string[], op: Op, label: string): Promise<void> {
    switch (op.kind) {
      case "heartbeat":
        await table.heartbeat(ih, workers[op.worker]!, leaseTtlMs);
        model.heartbeat(workers[op.worker]!, leaseTtlMs);
        return;
      case "advance":
        await harness.advanceTime(stepMs);
        model.advance(stepMs);
        return;
      case "expire":
        expect(await table.expireWorkers(ih), label).toBe(model.expire().length);
        return;
      case "drive": {
        // Claim, stage and verify one missing piece, each step checked against the model: single
        // random steps seldom get a piece as far as verified, where holds and their expiry happen.
        const w = workers[op.worker]!;
        const candidate = model.claimFor("claim", { piece: op.piece, ready: true, shift: 0 }).piece;
        const claims = await table.claim(ih, w, [candidate], 1);
        expect(claims, label).toEqual(model.claim(w, [candidate], 1));
        for (const claim of claims) {
          for (const t of ["stage", "verify"] as const) {
            const result = await applyTransition(table, t, ih, claim, w);
            expect(model.transition(t, claim, w), `${label} ${t}`).toContain(result);
          }
        }
        return;
      }
      case "expireLeases":
        expect(await table.expireLeases(ih), label).toEqual(model.expire());
        return;
      case "hold": {
        const w = workers[op.worker]!;
        // Pieces and attempts are chosen before any piece is held: a hold changes no state or attempt.
        const claims = op.pieces.map((t) => model.claimFor("hold", t));
        const results = await table.hold(ih, w, claims);
        expect(results, label).toHaveLength(claims.length);
        results.forEach((result, j) => expect(model.hold(claims[j]!, w), `${label} piece ${j}`).toContain(result));
        return;
      }
      case "claim":
        expect(await table.claim(ih, workers[op.worker]!, op.candidates, op.max), label).toEqual(
          model.claim(workers[op.worker]!, op.candidates, op.max),
        );
        return;
      case "reject": {
        const claim = model.claimFor("reject", op);
        const peers = op.peers.map((i) => PEERS[i]!);
        const outcome = await table.reject(ih, claim, peers);
        const allowed = model.transition("reject", claim, "");
        expect(allowed, label).toContain(outcome.result);
        expect([...outcome.banned].sort(), label).toEqual(allowed[0] === "ok" ? model.strike(peers).sort() : []);
        return;
      }
      default: {
        const w = workers[op.worker]!;
        const claim = model.claimFor(op.kind, op);
        const result = await applyTransition(table, op.kind, ih, claim, w);
        expect(model.transition(op.kind, claim, w), label).toContain(result);
      }
    }
  }
}
