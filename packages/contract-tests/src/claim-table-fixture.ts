import { expect } from "vitest";
import {
  checkInvariants,
  isLegal,
  type Claim,
  type ClaimTable,
  type PieceRecord,
  type PieceState,
  type Transition,
  type TransitionResult,
} from "@shoal/coordination";
import { randomId, randomInfoHash } from "./ids.js";

/** The transitions that take a claim (everything but `claim` itself, which takes candidates). */
export type ClaimTransition = Exclude<Transition, "claim">;
export const CLAIM_TRANSITIONS = ["release", "stage", "verify", "reject", "store", "unstage", "hold"] as const satisfies readonly ClaimTransition[];

/**
 * Every result a transition may legitimately return, given the piece as it was before the call.
 * An empty list means the call must succeed. When several reasons apply at once (a stale attempt
 * on a piece in the wrong state) the contract leaves open which one the adapter reports.
 */
export function refusalsFor(transition: ClaimTransition, before: PieceRecord, claim: Claim, worker: string): TransitionResult[] {
  const reasons: TransitionResult[] = [];
  if (claim.attempt !== before.attempt) reasons.push("stale_attempt");
  if (!isLegal(transition, before.state)) reasons.push("wrong_state");
  if (transition === "release" && before.holder !== worker) reasons.push("not_holder");
  return reasons;
}

/** Runs one claim transition on `table`; a rejection blames nobody; a hold holds one piece for `worker`. */
export async function applyTransition(
  table: ClaimTable,
  transition: ClaimTransition,
  infoHash: string,
  claim: Claim,
  worker: string,
): Promise<TransitionResult> {
  switch (transition) {
    case "release":
      return table.release(infoHash, worker, claim);
    case "stage":
      return table.stage(infoHash, worker, claim);
    case "verify":
      return table.verify(infoHash, claim);
    case "reject":
      return (await table.reject(infoHash, claim, [])).result;
    case "store":
      return table.store(infoHash, claim);
    case "unstage":
      return table.unstage(infoHash, claim);
    case "hold": {
      const [result] = await table.hold(infoHash, worker, [claim]);
      return result!;
    }
  }
}

/** Per-case helpers over one ClaimTable; remembers the torrents it created to check them afterwards. */
export class ClaimTableFixture {
  private readonly torrents = new Set<string>();

  constructor(
    readonly table: ClaimTable,
    readonly leaseTtlMs: number,
    readonly advanceTime: (ms: number) => Promise<void>,
  ) {}

  async torrent(pieceCount: number, stored: readonly number[] = [], skipped: readonly number[] = []): Promise<string> {
    const infoHash = randomInfoHash();
    await this.table.createTorrent(infoHash, pieceCount, stored, skipped);
    this.torrents.add(infoHash);
    return infoHash;
  }

  /** Forgets a torrent the case deleted, so the closing invariant check skips it. */
  forget(infoHash: string): void {
    this.torrents.delete(infoHash);
  }

  /** A new worker with a live lease on every torrent this case has made so far. */
  async worker(): Promise<string> {
    const id = randomId("worker");
    for (const infoHash of this.torrents) await this.table.heartbeat(infoHash, id, this.leaseTtlMs);
    return id;
  }

  /** Runs one claim transition and returns its result. */
  apply(transition: ClaimTransition, infoHash: string, claim: Claim, worker: string): Promise<TransitionResult> {
    return applyTransition(this.table, transition, infoHash, claim, worker);
  }

  /**
   * Moves a missing piece to `state` through legal transitions, claiming it for `worker`, and
   * returns its current claim. `missing` is reached by claiming and releasing, so the piece has an
   * attempt of at least one in every state.
   */
  async driveTo(infoHash: string, piece: number, state: Exclude<PieceState, "skipped">, worker: string): Promise<Claim> {
    const claims = await this.table.claim(infoHash, worker, [piece], 1);
    expect(claims, `claiming piece ${piece} on the way to ${state}`).toHaveLength(1);
    const claim = claims[0]!;
    const path: Record<Exclude<PieceState, "skipped">, readonly ClaimTransition[]> = {
      missing: ["release"],
      claimed: [],
      staged: ["stage"],
      verified: ["stage", "verify"],
      stored: ["stage", "verify", "store"],
    };
    for (const step of path[state]) {
      expect(await this.apply(step, infoHash, claim, worker), `${step} of piece ${piece} on the way to ${state}`).toBe("ok");
    }
    return claim;
  }

  /** The invariant check every case ends with. */
  async expectSound(): Promise<void> {
    for (const infoHash of this.torrents) {
      expect(checkInvariants(await this.table.pieces(infoHash)), `invariants of torrent ${infoHash}`).toEqual([]);
    }
  }
}

export function byPiece(claims: readonly Claim[]): Claim[] {
  return [...claims].sort((a, b) => a.piece - b.piece);
}
