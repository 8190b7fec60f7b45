import {
  BAN_STRIKES,
  TRANSITIONS,
  isLegal,
  type Claim,
  type PieceCounts,
  type PieceRecord,
  type PieceState,
  type Transition,
  type TransitionResult,
} from "@shoal/coordination";
import { refusalsFor, type ClaimTransition } from "./claim-table-fixture.js";

interface ModelPiece {
  state: PieceState;
  attempt: number;
  holder: string | undefined;
}

/**
 * The simplest ClaimTable that could work: plain arrays, written straight from the port's TSDoc
 * and the TRANSITIONS table. The property runs it side by side with the adapter.
 */
export class ClaimTableModel {
  private readonly pieces: ModelPiece[];
  private readonly strikes = new Map<string, number>();
  private readonly banned = new Set<string>();
  private readonly leases = new Map<string, number>();
  private nowMs = 0;

  constructor(pieceCount: number, stored: Iterable<number>) {
    this.pieces = Array.from({ length: pieceCount }, () => ({ state: "missing" as PieceState, attempt: 0, holder: undefined }));
    for (const i of stored) this.pieces[i]!.state = "stored";
  }

  heartbeat(worker: string, ttlMs: number): void {
    this.leases.set(worker, this.nowMs + ttlMs);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  claim(worker: string, candidates: readonly number[], max: number): Claim[] {
    const out: Claim[] = [];
    for (const i of candidates) {
      if (out.length >= max) break;
      const p = this.pieces[i]!;
      if (p.state !== "missing") continue;
      p.state = "claimed";
      p.attempt++;
      p.holder = worker;
      out.push({ piece: i, attempt: p.attempt });
    }
    return out;
  }

  /**
   * The claim a random operation is about: `piece`, or with `ready` the first piece from `piece`
   * on whose state `transition` is legal from (`piece` when there is none), at its attempt moved
   * by `shift` (never below 0).
   */
  claimFor(transition: Transition, t: { readonly piece: number; readonly ready: boolean; readonly shift: number }): Claim {
    let i = t.piece;
    if (t.ready) {
      for (let k = 0; k < this.pieces.length; k++) {
        const j = (t.piece + k) % this.pieces.length;
        if (isLegal(transition, this.pieces[j]!.state)) {
          i = j;
          break;
        }
      }
    }
    return { piece: i, attempt: Math.max(0, this.pieces[i]!.attempt + t.shift) };
  }

  /** The results the adapter may return for this call; applies the change when the call must succeed. */
  transition(transition: ClaimTransition, claim: Claim, worker: string): TransitionResult[] {
    const p = this.pieces[claim.piece]!;
    const refusals = refusalsFor(transition, this.record(claim.piece), claim, worker);
    if (refusals.length > 0) return refusals;
    p.state = TRANSITIONS[transition].to;
    p.holder = undefined;
    return ["ok"];
  }

  /** Strikes for a rejection that succeeded; returns the peers it banned. */
  strike(peers: readonly string[]): string[] {
    const banned: string[] = [];
    for (const peer of new Set(peers)) {
      const n = (this.strikes.get(peer) ?? 0) + 1;
      this.strikes.set(peer, n);
      if (n >= BAN_STRIKES && !this.banned.has(peer)) {
        this.banned.add(peer);
        banned.push(peer);
      }
    }
    return banned;
  }

  /** A writer holds a verified piece: the results the adapter may return; holds it when it must succeed. */
  hold(claim: Claim, worker: string): TransitionResult[] {
    const refusals = refusalsFor("hold", this.record(claim.piece), claim, worker);
    if (refusals.length > 0) return refusals;
    this.pieces[claim.piece]!.holder = worker;
    return ["ok"];
  }

  /**
   * Claims and held verified pieces live only as long as their holder's lease: no lease, or a
   * lapsed one, frees them. Returns what moved, in piece order, with its attempt.
   */
  expire(): Claim[] {
    const moved: Claim[] = [];
    this.pieces.forEach((p, i) => {
      const until = p.holder === undefined ? undefined : this.leases.get(p.holder);
      if (p.holder !== undefined && (until === undefined || until <= this.nowMs)) {
        p.state = "missing";
        p.holder = undefined;
        moved.push({ piece: i, attempt: p.attempt });
      }
    });
    return moved;
  }

  record(i: number): PieceRecord {
    const p = this.pieces[i]!;
    return p.holder === undefined ? { state: p.state, attempt: p.attempt } : { state: p.state, attempt: p.attempt, holder: p.holder };
  }

  records(): PieceRecord[] {
    return this.pieces.map((_, i) => this.record(i));
  }

  counts(): PieceCounts {
    const c = { missing: 0, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 };
    for (const p of this.pieces) c[p.state]++;
    return c;
  }

  claimed(): Claim[] {
    const out: Claim[] = [];
    this.pieces.forEach((p, i) => {
      if (p.state === "claimed") out.push({ piece: i, attempt: p.attempt });
    });
    return out;
  }

  bannedPeers(): string[] {
    return [...this.banned].sort();
  }
}
