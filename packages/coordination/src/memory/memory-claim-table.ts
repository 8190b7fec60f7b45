import { addAvailability, availabilityLengthError } from "../availability.js";
import { CoordinationError } from "../errors.js";
import { TRANSITIONS, isLegal, type PieceRecord, type PieceState, type Transition, type TransitionResult } from "../piece-state.js";
import {
  BAN_STRIKES,
  type Claim,
  type ClaimTable,
  type JobStart,
  type KnownPeer,
  type PeerGrant,
  type PieceCounts,
  type RejectOutcome,
  type ReleasePeersOptions,
} from "../ports/claim-table.js";
import { claimPeers, disownPeer, knownPeers, releasePeers } from "./memory-peer-registry.js";
import { checkIndex, emptyTorrentTable, movePiece, pieceRecord, type TorrentTable } from "./torrent-table.js";

/**
 * The in-process ClaimTable of embedded mode: the same contract as the Redis adapter, each method
 * synchronous inside (so atomic), behind the async port. Time comes from the injected `now`.
 */
export class MemoryClaimTable implements ClaimTable {
  private readonly torrents = new Map<string, TorrentTable>();
  /** The cluster's peer workers: workerId -> when its presence ends (`peerWorkerPresence`). */
  private readonly presence = new Map<string, number>();
  private closed = false;

  constructor(private readonly now: () => number = () => Date.now()) {}

  async createTorrent(infoHash: string, pieceCount: number, stored: Iterable<number>, skipped: Iterable<number> = []): Promise<void> {
    this.ensureOpen("createTorrent");
    if (this.torrents.has(infoHash)) return;
    const t = emptyTorrentTable(pieceCount);
    for (const i of skipped) {
      checkIndex(infoHash, i, pieceCount);
      movePiece(t, i, "skipped");
    }
    for (const i of stored) {
      checkIndex(infoHash, i, pieceCount);
      movePiece(t, i, "stored");
    }
    this.torrents.set(infoHash, t);
  }

  async startJob(infoHash: string, jobId: string, pieceCount: number, stored: Iterable<number>, skipped: Iterable<number> = []): Promise<JobStart> {
    this.ensureOpen("startJob");
    const before = this.torrents.get(infoHash);
    if (before?.job === jobId) return "kept";
    const states = new Array<PieceState>(pieceCount).fill("missing");
    for (const i of skipped) {
      checkIndex(infoHash, i, pieceCount);
      states[i] = "skipped";
    }
    for (const i of stored) {
      checkIndex(infoHash, i, pieceCount);
      states[i] = "stored";
    }
    if (!before) {
      await this.createTorrent(infoHash, pieceCount, stored, skipped);
      this.torrents.get(infoHash)!.job = jobId;
      return "created";
    }
    const counts = { missing: 0, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 };
    for (const s of states) counts[s]++;
    // Claims and held pieces were the earlier job's and go. Attempts, strikes and bans stay, and
    // so do leases and the peer registry: they say which workers are alive and what they connect.
    this.torrents.set(infoHash, {
      ...before,
      states,
      holders: new Array<string | undefined>(pieceCount).fill(undefined),
      counts,
      held: new Map(),
      job: jobId,
    });
    return "rebuilt";
  }

  async deleteTorrent(infoHash: string): Promise<void> {
    this.ensureOpen("deleteTorrent");
    this.torrents.delete(infoHash);
  }

  async heartbeat(infoHash: string, workerId: string, ttlMs: number): Promise<void> {
    this.ensureOpen("heartbeat");
    this.table(infoHash).leases.set(workerId, this.now() + ttlMs);
  }

  async claim(infoHash: string, workerId: string, candidates: readonly number[], max: number): Promise<Claim[]> {
    this.ensureOpen("claim");
    const t = this.table(infoHash);
    // Check every index before taking any, so an error never leaves claims the caller cannot see.
    for (const i of candidates) checkIndex(infoHash, i, t.states.length);
    const out: Claim[] = [];
    for (const i of candidates) {
      if (out.length >= max) break;
      if (t.states[i] !== "missing") continue;
      t.attempts[i] = (t.attempts[i] ?? 0) + 1;
      movePiece(t, i, "claimed", workerId);
      out.push({ piece: i, attempt: t.attempts[i]! });
    }
    return out;
  }

  async release(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult> {
    this.ensureOpen("release");
    const t = this.table(infoHash);
    const r = this.check(t, infoHash, claim, "release");
    if (r !== "ok") return r;
    if (t.holders[claim.piece] !== workerId) return "not_holder";
    movePiece(t, claim.piece, "missing");
    return "ok";
  }

  async stage(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult> {
    this.ensureOpen("stage");
    const t = this.table(infoHash);
    const r = this.check(t, infoHash, claim, "stage");
    if (r !== "ok") return r;
    movePiece(t, claim.piece, TRANSITIONS.stage.to, workerId);
    return "ok";
  }

  async verify(infoHash: string, claim: Claim): Promise<TransitionResult> {
    this.ensureOpen("verify");
    return this.simple(infoHash, claim, "verify");
  }

  async reject(infoHash: string, claim: Claim, blamedPeers: readonly string[]): Promise<RejectOutcome> {
    this.ensureOpen("reject");
    const t = this.table(infoHash);
    const result = this.check(t, infoHash, claim, "reject");
    if (result !== "ok") return { result, banned: [] };
    movePiece(t, claim.piece, "missing");
    const banned: string[] = [];
    for (const peer of new Set(blamedPeers)) {
      const strikes = (t.strikes.get(peer) ?? 0) + 1;
      t.strikes.set(peer, strikes);
      if (strikes >= BAN_STRIKES && !t.banned.has(peer)) {
        t.banned.add(peer);
        banned.push(peer);
      }
    }
    return { result, banned };
  }

  async store(infoHash: string, claim: Claim): Promise<TransitionResult> {
    this.ensureOpen("store");
    return this.simple(infoHash, claim, "store");
  }

  async unstage(infoHash: string, claim: Claim): Promise<TransitionResult> {
    this.ensureOpen("unstage");
    return this.simple(infoHash, claim, "unstage");
  }

  async expireWorkers(infoHash: string): Promise<number> {
    this.ensureOpen("expireWorkers");
    return this.expire(infoHash).length;
  }

  async claimedBy(infoHash: string, excludeWorker?: string): Promise<Claim[]> {
    this.ensureOpen("claimedBy");
    const t = this.table(infoHash);
    const out: Claim[] = [];
    t.states.forEach((s, i) => {
      if (s === "claimed" && t.holders[i] !== excludeWorker) out.push({ piece: i, attempt: t.attempts[i]! });
    });
    return out;
  }

  async counts(infoHash: string): Promise<PieceCounts> {
    this.ensureOpen("counts");
    return { ...this.table(infoHash).counts };
  }

  async piece(infoHash: string, index: number): Promise<PieceRecord> {
    this.ensureOpen("piece");
    const t = this.table(infoHash);
    checkIndex(infoHash, index, t.states.length);
    return pieceRecord(t, index);
  }

  async pieces(infoHash: string): Promise<PieceRecord[]> {
    this.ensureOpen("pieces");
    const t = this.table(infoHash);
    return t.states.map((_, i) => pieceRecord(t, i));
  }

  async piecesIn(infoHash: string, state: PieceState): Promise<number[]> {
    this.ensureOpen("piecesIn");
    const t = this.table(infoHash);
    const out: number[] = [];
    t.states.forEach((s, i) => {
      if (s === state) out.push(i);
    });
    return out;
  }

  async isBanned(infoHash: string, peer: string): Promise<boolean> {
    this.ensureOpen("isBanned");
    return this.table(infoHash).banned.has(peer);
  }

  async bannedPeers(infoHash: string): Promise<string[]> {
    this.ensureOpen("bannedPeers");
    return [...this.table(infoHash).banned];
  }

  /** Closing takes the table down for this instance: every later call throws BACKEND_UNAVAILABLE. */
  async close(): Promise<void> {
    this.closed = true;
  }

  async hold(infoHash: string, workerId: string, claims: readonly Claim[]): Promise<TransitionResult[]> {
    this.ensureOpen("hold");
    const t = this.table(infoHash);
    // Check every index before holding any, as claim does.
    for (const c of claims) checkIndex(infoHash, c.piece, t.states.length);
    return claims.map((c) => {
      const r = this.check(t, infoHash, c, "hold");
      if (r === "ok") movePiece(t, c.piece, TRANSITIONS.hold.to, workerId);
      return r;
    });
  }

  async expireLeases(infoHash: string): Promise<Claim[]> {
    this.ensureOpen("expireLeases");
    return this.expire(infoHash);
  }

  /** Every piece of a lapsed worker back to missing, as TRANSITIONS.release moves it; returns them in piece order. */
  private expire(infoHash: string): Claim[] {
    const t = this.table(infoHash);
    const now = this.now();
    const moved: Claim[] = [];
    for (const [worker, pieces] of [...t.held]) {
      const until = t.leases.get(worker);
      if (until !== undefined && until > now) continue;
      for (const i of [...pieces]) {
        movePiece(t, i, TRANSITIONS.release.to);
        moved.push({ piece: i, attempt: t.attempts[i]! });
      }
      t.held.delete(worker);
      t.leases.delete(worker);
    }
    // A worker's peers are free again once its lease ends, as its pieces are.
    for (const [worker, peers] of [...t.ownedPeers]) {
      const until = t.leases.get(worker);
      if (until !== undefined && until > now) continue;
      for (const peer of [...peers]) disownPeer(t, peer, false);
      t.leases.delete(worker);
    }
    for (const worker of [...t.peerWorkers]) {
      const until = t.leases.get(worker);
      if (until === undefined || until <= now) t.peerWorkers.delete(worker);
    }
    // A lapsed worker's vector would never count again; its next publish brings it back.
    for (const worker of [...t.availability.keys()]) {
      const until = t.leases.get(worker);
      if (until === undefined || until <= now) t.availability.delete(worker);
    }
    for (const [worker, until] of [...t.leases]) if (until <= now) t.leases.delete(worker);
    return moved.sort((a, b) => a.piece - b.piece);
  }

  private ensureOpen(method: string): void {
    if (this.closed) {
      throw new CoordinationError("BACKEND_UNAVAILABLE", `claim table is closed; cannot ${method}`, { retryable: true });
    }
  }

  private table(infoHash: string): TorrentTable {
    const t = this.torrents.get(infoHash);
    if (!t) throw new CoordinationError("UNKNOWN_TORRENT", `no piece table for torrent ${infoHash}`, { context: { infoHash } });
    return t;
  }

  private check(t: TorrentTable, infoHash: string, claim: Claim, transition: Transition): TransitionResult {
    checkIndex(infoHash, claim.piece, t.states.length);
    if (t.attempts[claim.piece] !== claim.attempt) return "stale_attempt";
    return isLegal(transition, t.states[claim.piece]!) ? "ok" : "wrong_state";
  }

  private simple(infoHash: string, claim: Claim, transition: Transition): TransitionResult {
    const t = this.table(infoHash);
    const r = this.check(t, infoHash, claim, transition);
    if (r !== "ok") return r;
    const to = { stage: "staged", verify: "verified", store: "stored", unstage: "missing" } as const;
    movePiece(t, claim.piece, to[transition as keyof typeof to]);
    return "ok";
  }

  async claimPeers(infoHash: string, workerId: string, peers: readonly string[], max: number): Promise<PeerGrant> {
    this.ensureOpen("claimPeers");
    return claimPeers(this.table(infoHash), workerId, peers, max, () => this.now());
  }

  async releasePeers(infoHash: string, workerId: string, peers: readonly string[], options: ReleasePeersOptions = {}): Promise<number> {
    this.ensureOpen("releasePeers");
    return releasePeers(this.table(infoHash), workerId, peers, options);
  }

  async knownPeers(infoHash: string): Promise<KnownPeer[]> {
    this.ensureOpen("knownPeers");
    return knownPeers(this.table(infoHash));
  }

  async peerWorkerPresence(workerId: string, ttlMs: number): Promise<number> {
    this.ensureOpen("peerWorkerPresence");
    const now = this.now();
    if (ttlMs > 0) this.presence.set(workerId, now + ttlMs);
    else this.presence.delete(workerId);
    for (const [worker, until] of [...this.presence]) if (until <= now) this.presence.delete(worker);
    return this.presence.size;
  }

  async publishAvailability(infoHash: string, workerId: string, counts: Uint16Array): Promise<void> {
    this.ensureOpen("publishAvailability");
    const t = this.table(infoHash);
    if (counts.length !== t.states.length) throw availabilityLengthError(infoHash, workerId, counts.length, t.states.length);
    t.availability.set(workerId, counts.slice());
    // As with claims: taking part without a lease means a lease that has already ended.
    if (!t.leases.has(workerId)) t.leases.set(workerId, Number.NEGATIVE_INFINITY);
  }

  async availability(infoHash: string, excludeWorker?: string): Promise<Uint16Array> {
    this.ensureOpen("availability");
    const t = this.table(infoHash);
    const sum = new Uint16Array(t.states.length);
    const now = this.now();
    for (const [worker, counts] of t.availability) {
      if (worker === excludeWorker || !((t.leases.get(worker) ?? Number.NEGATIVE_INFINITY) > now)) continue;
      addAvailability(sum, counts);
    }
    return sum;
  }

  async withdrawAvailability(infoHash: string, workerId: string): Promise<void> {
    this.ensureOpen("withdrawAvailability");
    this.torrents.get(infoHash)?.availability.delete(workerId);
  }
}
