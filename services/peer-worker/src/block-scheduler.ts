import type { Bitfield } from "@shoal/wire";
import type { ClaimTable } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { BLOCK_BYTES, type ActivePiece } from "./active-piece.js";
import {
  acceptBlock,
  pipelineTarget,
  requestDuplicates,
  requestFrom,
  returnRequests,
  snubIfTimedOut,
  withdrawRequests,
  type BlockRequestContext,
  type PipelineOptions,
} from "./block-requests.js";
import type { PeerConnection } from "./connection.js";
import type { PieceBufferPool } from "./piece-buffer-pool.js";
import { PieceClaimer } from "./piece-claimer.js";
import { StagedPieces } from "./staged-pieces.js";

export interface SchedulerOptions extends PipelineOptions {
  readonly infoHash: string;
  readonly workerId: string;
  readonly pieceCount: number;
  readonly pieceLength: (index: number) => number;
  /** Memory for pieces in progress and staged; no new claims beyond it. */
  readonly maxBufferedBytes: number;
  /** Pieces per claim run (see `PieceClaimer`); 0 claims piece by piece. */
  readonly runPieces: number;
  readonly requestTimeoutMs: number;
  /** A piece in progress that no connection can serve for this long is given up (its claim released). */
  readonly sourcelessClaimMs: number;
  /**
   * A staged piece whose bytes went out on the bus stops counting against the budget once it
   * has waited this long to be stored (default 5 s). Stored within it (the usual case, and
   * always with the filesystem store), it counts, which keeps claims, and so the writer's open
   * parts, within the budget; a store that holds pieces until a whole part has arrived can keep
   * them far longer, and counting them for good stalled claims for good.
   */
  readonly handOffGraceMs?: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly pool: PieceBufferPool;
}

export interface SchedulerHooks {
  /** All blocks of a piece arrived: stage it (the scheduler has forgotten it already). */
  onComplete(piece: ActivePiece): void;
  connections(): Iterable<PeerConnection>;
}

/**
 * Block-level scheduling for one torrent in one worker: which blocks to ask of which connection,
 * pipelining, timeouts and end-game duplicates. Which pieces to claim is the PieceClaimer's part;
 * inside the worker, any connection that has a claimed piece may fetch its free blocks, and the
 * connection that started a piece finishes it first.
 */
export class BlockScheduler {
  readonly active = new Map<number, ActivePiece>();
  /** Staged pieces of ours waiting for the verifier and writer: piece -> attempt. */
  readonly pending: Map<number, number>;
  /** The pending pieces and the piece memory they hold. */
  private readonly staged: StagedPieces;
  /** Per piece, peers whose data for it failed the hash: never ask them for it again. */
  private readonly failedFrom = new Map<number, Set<string>>();
  /** How many connected peers have each piece. */
  readonly availability: Uint16Array;
  /**
   * How many peers connected to the cluster's other workers have each piece, as last fetched
   * from the claim table (`AvailabilitySync` writes it); all zero for a lone worker.
   */
  readonly othersAvailability: Uint16Array;
  private readonly claimer: PieceClaimer;
  private readonly requests: BlockRequestContext;
  wastedBytes = 0;
  stopped = false;

  constructor(
    private readonly opts: SchedulerOptions,
    have: Bitfield,
    private readonly claims: ClaimTable,
    private readonly hooks: SchedulerHooks,
    private readonly logger: Logger,
  ) {
    this.availability = new Uint16Array(opts.pieceCount);
    this.othersAvailability = new Uint16Array(opts.pieceCount);
    this.staged = new StagedPieces(opts);
    this.pending = this.staged.pending;
    this.requests = { now: opts.now, pool: opts.pool, mayAsk: (conn, piece) => this.mayAsk(conn, piece) };
    this.claimer = new PieceClaimer(opts, have, this.availability, this.othersAvailability, claims, this, logger);
  }

  get endgame(): boolean {
    return this.claimer.endgame;
  }

  /** Whether `conn` may be asked for `piece`: not if its data for it failed the hash. */
  mayAsk(conn: PeerConnection, piece: number): boolean {
    return !this.failedFrom.get(piece)?.has(conn.key);
  }

  /** Starts downloading a piece the claimer claimed (or took up as an end-game duplicate). */
  start(p: ActivePiece): void {
    this.active.set(p.index, p);
  }

  connections(): Iterable<PeerConnection> {
    return this.hooks.connections();
  }

  /** A connected peer announced `index`. */
  onPeerHas(index: number): void {
    this.availability[index]!++;
    this.claimer.onPeerHas(index);
  }

  /** The peer unchoked `conn`: request from it, and let its pieces count for claims again. */
  onUnchoked(conn: PeerConnection): void {
    this.claimer.onUnchoked();
    this.fill(conn);
  }

  /** Piece memory in use or reserved: pieces in progress (end-game duplicates too) and staged here. */
  bufferedBytes(): number {
    let n = 0;
    for (const p of this.active.values()) n += p.length;
    return n + this.staged.heldBytes();
  }

  /**
   * A staged piece's bytes left this worker (they ride the bus to the verifier): it still waits
   * to be stored here, but holds no memory of ours any more. It keeps counting against the
   * budget for `handOffGraceMs`, then stops (see there).
   */
  onHandedOff(index: number): void {
    // Once the grace is over the piece frees its share of the budget: claim on then.
    this.staged.onHandedOff(index, () => {
      this.claimer.onMemoryFreed();
      this.fillAll();
    });
  }

  pipelineTarget(conn: PeerConnection): number {
    return pipelineTarget(conn, this.opts);
  }

  /**
   * Tops up `conn`'s request pipeline; claims more pieces in the background when it runs dry.
   * Nothing is sent while its send buffer is full: the connection calls again on drain.
   */
  fill(conn: PeerConnection): void {
    if (this.stopped || conn.closed || conn.peerChoking || !conn.amInterested || conn.congested) return;
    let room = this.pipelineTarget(conn) - conn.outstanding.size;
    if (room <= 0) return;
    if (conn.outstanding.size === 0) conn.lastBlockAt = this.opts.now();
    conn.socket.cork();
    try {
      for (const index of conn.activePieces) {
        room = requestFrom(conn, this.active.get(index), room, this.requests);
        if (room <= 0) break;
      }
      if (room > 0) {
        // Partial pieces first, so finished pieces reach the verifier soon and buffers free up.
        for (const p of this.active.values()) {
          if (p.received > 0 || p.requested > 0) room = requestFrom(conn, p, room, this.requests);
          if (room <= 0) break;
        }
      }
      if (room > 0) {
        for (const p of this.active.values()) {
          room = requestFrom(conn, p, room, this.requests);
          if (room <= 0) break;
        }
      }
      if (room > 0 && this.endgame) room = requestDuplicates(conn, this.active.values(), room, this.requests);
    } finally {
      conn.socket.uncork();
    }
    if (room > 0) this.claimer.want(Math.ceil((room * BLOCK_BYTES) / this.opts.pieceLength(0)) + 1);
  }

  fillAll(): void {
    for (const c of this.hooks.connections()) this.fill(c);
  }

  onBlock(conn: PeerConnection, index: number, begin: number, block: Buffer): void {
    const p = this.active.get(index);
    if (!acceptBlock(conn, p, index, begin, block, this.requests)) this.wastedBytes += block.length;
    else if (p?.complete) this.finish(p);
    this.refill(conn);
  }

  /**
   * Tops up after a block arrived, but only once a few slots are free: one request per received
   * block would cost a socket write each, batching them costs nothing in throughput.
   */
  private refill(conn: PeerConnection): void {
    const target = this.pipelineTarget(conn);
    if (target - conn.outstanding.size >= Math.max(1, Math.min(64, target >> 1))) this.fill(conn);
  }

  /** The peer will not send these (choked us, rejected, or the connection died). */
  returnRequests(conn: PeerConnection, only?: number): void {
    returnRequests(conn, this.active, only);
  }

  onConnectionLost(conn: PeerConnection): void {
    this.returnRequests(conn);
    conn.activePieces.clear();
    for (const i of conn.bitfield.indices()) this.availability[i]!--;
    this.fillAll();
  }

  /** The piece was stored (by anyone): forget it here. */
  onStored(index: number): void {
    this.staged.delete(index);
    this.failedFrom.delete(index);
    const p = this.active.get(index);
    if (p) this.forget(p, true);
    this.claimer.reconsider(index);
    this.claimer.onMemoryFreed();
  }

  /**
   * The piece failed its hash: it is missing again. A peer that sent the whole piece alone is
   * certainly at fault and is never asked for it again; with several contributors the claim
   * table's strikes sort out the culprit, and excluding them all could leave no source.
   */
  onFailed(index: number, peers: readonly string[]): void {
    this.staged.delete(index);
    if (peers.length === 1) {
      let set = this.failedFrom.get(index);
      if (!set) this.failedFrom.set(index, (set = new Set()));
      set.add(peers[0]!);
    }
    this.claimer.onMissingAgain(index);
    this.fillAll();
  }

  /** Staging did not go through (lost the end-game race, or failed): the piece is no longer ours to wait for. */
  onStageFailed(index: number): void {
    this.staged.delete(index);
    this.claimer.reconsider(index);
    this.claimer.onMemoryFreed();
  }

  /** A banned peer's blocks in pieces still in progress are thrown away and fetched elsewhere. */
  onBanned(peer: string): void {
    let discarded = 0;
    for (const p of this.active.values()) discarded += p.discardFrom(peer);
    if (discarded > 0) this.logger.info({ peer, block: discarded }, "discarded blocks of a banned peer");
    this.fillAll();
  }

  /** Periodic: request timeouts (snubbing), pieces without a source, refreshed claim knowledge. */
  tick(refreshElsewhere: boolean): void {
    const now = this.opts.now();
    for (const conn of this.hooks.connections()) snubIfTimedOut(conn, this.active, now, this.opts.requestTimeoutMs, this.logger);
    for (const p of [...this.active.values()]) {
      if (p.source !== undefined) continue;
      if (this.hasSource(p.index)) p.sourcelessSince = undefined;
      else if (p.sourcelessSince === undefined) p.sourcelessSince = now;
      else if (now - p.sourcelessSince >= this.opts.sourcelessClaimMs) this.giveUp(p);
    }
    if (refreshElsewhere) this.claimer.refresh();
    this.fillAll();
  }

  /** Gives every claim back (draining, or the torrent stopped). */
  async releaseAll(): Promise<void> {
    this.stopped = true;
    this.claimer.stop();
    const owned = [...this.active.values()].filter((p) => p.owned);
    for (const p of this.active.values()) if (p.buf) this.opts.pool.release(p.buf);
    this.active.clear();
    await Promise.allSettled(
      owned.map((p) => this.claims.release(this.opts.infoHash, this.opts.workerId, { piece: p.index, attempt: p.attempt })),
    );
  }

  /** Bytes of the memory budget free for more pieces. */
  bufferRoom(): number {
    return this.opts.maxBufferedBytes - this.bufferedBytes();
  }

  /** Whether this worker may claim `piece` now (not done, in progress or known claimed elsewhere). */
  claimable(piece: number): boolean {
    return !this.stopped && this.claimer.isEligible(piece);
  }

  /** The claim table refused these to another source of ours (a web seed): someone holds them. */
  claimedElsewhere(pieces: readonly number[]): void {
    this.claimer.markElsewhere(pieces);
  }

  /** A piece a web seed claimed and fetches whole: it counts against memory like any other. */
  startExternal(p: ActivePiece): void {
    this.active.set(p.index, p);
    this.claimer.reconsider(p.index);
  }

  /** A web seed's piece is whole: it is staged like a piece from connections. */
  finishExternal(p: ActivePiece): void {
    if (this.active.get(p.index) === p) this.finish(p);
  }

  /** A web seed could not fetch the piece: its bytes are dropped and its claim given back. */
  dropExternal(p: ActivePiece): void {
    if (this.active.get(p.index) !== p) return;
    this.forget(p, true);
    this.claimer.onMemoryFreed();
    void this.claims
      .release(this.opts.infoHash, this.opts.workerId, { piece: p.index, attempt: p.attempt })
      .catch((err: unknown) => this.logger.error({ err, piece: p.index, op: "claims.release" }, "releasing a claim failed; it lapses with our lease"));
    this.fillAll();
  }

  private hasSource(index: number): boolean {
    if (this.availability[index] === 0) return false;
    for (const c of this.hooks.connections()) if (!c.closed && c.bitfield.has(index) && this.mayAsk(c, index)) return true;
    return false;
  }

  /**
   * None of our connections can serve the piece: a claim of ours goes back to the table, so a
   * worker that can fetch it, or a peer that announces it to us later, takes it; a duplicate of
   * another worker's piece just leaves memory. Blocks received so far are dropped with it.
   */
  private giveUp(p: ActivePiece): void {
    const seconds = this.opts.sourcelessClaimMs / 1000;
    this.forget(p, true);
    this.claimer.onMemoryFreed();
    if (!p.owned) return;
    this.logger.info({ piece: p.index }, `no connection has had piece ${p.index} for ${seconds} s; claim given back`);
    const claim = { piece: p.index, attempt: p.attempt };
    void this.claims
      .release(this.opts.infoHash, this.opts.workerId, claim)
      .then((r) => {
        if (r !== "ok") this.logger.debug({ piece: p.index, op: "claims.release" }, `claim of piece ${p.index} was already gone: ${r}`);
      })
      .catch((err: unknown) => this.logger.error({ err, piece: p.index, op: "claims.release" }, "releasing a claim failed; it lapses with our lease"));
  }

  private finish(p: ActivePiece): void {
    this.pending.set(p.index, p.attempt);
    this.forget(p, false);
    this.hooks.onComplete(p);
  }

  private forget(p: ActivePiece, cancel: boolean): void {
    this.active.delete(p.index);
    if (cancel && p.buf) {
      this.opts.pool.release(p.buf);
      p.buf = undefined;
    }
    withdrawRequests(p, cancel);
    for (const conn of this.hooks.connections()) conn.activePieces.delete(p.index);
    this.claimer.reconsider(p.index);
    this.claimer.onPieceDone();
  }
}
