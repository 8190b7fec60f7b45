import type { PieceRecord, PieceState, TransitionResult } from "../piece-state.js";

/** A lease on one piece, held by one worker, for one attempt. */
export interface Claim {
  readonly piece: number;
  readonly attempt: number;
}

export interface PieceCounts {
  readonly missing: number;
  readonly claimed: number;
  readonly staged: number;
  readonly verified: number;
  readonly stored: number;
}

export interface RejectOutcome {
  readonly result: TransitionResult;
  /** Peers (ip:port) that crossed the ban threshold because of this rejection. */
  readonly banned: readonly string[];
}

/** How many strikes (pieces that failed their hash while the peer contributed) ban a peer. */
export const BAN_STRIKES = 2;

/**
 * The piece-claim table: the source of truth for which piece is where, shared by every worker of a
 * torrent. Every method is one atomic step (a Lua script in Redis). Torrent ids are the lowercase
 * hex infoHash. Methods throw CoordinationError UNKNOWN_TORRENT for a torrent never created,
 * PIECE_OUT_OF_RANGE for a bad index and BACKEND_UNAVAILABLE (retryable) when the backend is down,
 * which it is for this instance once `close` was called (a second `close` is harmless); illegal
 * transitions are not errors, they return a TransitionResult other than "ok".
 */
export interface ClaimTable {
  /** Creates the table with every piece missing except `stored`; a second call keeps the first table. */
  createTorrent(infoHash: string, pieceCount: number, stored: Iterable<number>): Promise<void>;
  /** Removes every key of the torrent. */
  deleteTorrent(infoHash: string): Promise<void>;
  /** Keeps the worker's liveness lease; its claims die with it. */
  heartbeat(workerId: string, ttlMs: number): Promise<void>;
  /**
   * Claims up to `max` of `candidates`, in the given order, skipping pieces that are not missing.
   * The caller orders the candidates (rarest first); the table only arbitrates.
   */
  claim(infoHash: string, workerId: string, candidates: readonly number[], max: number): Promise<Claim[]>;
  /** Gives a claim back (missing again); only its holder at the same attempt may. */
  release(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult>;
  /**
   * Moves the current attempt to staged. Any worker may stage the current attempt (end-game
   * duplicates race; the first staged wins); a later attempt number or a different state fails.
   */
  stage(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult>;
  verify(infoHash: string, claim: Claim): Promise<TransitionResult>;
  /** Hash failure: back to missing, and each blamed peer gets a strike; returns who got banned. */
  reject(infoHash: string, claim: Claim, blamedPeers: readonly string[]): Promise<RejectOutcome>;
  store(infoHash: string, claim: Claim): Promise<TransitionResult>;
  /** Staged or verified bytes were lost: the piece goes back to missing. */
  unstage(infoHash: string, claim: Claim): Promise<TransitionResult>;
  /** Returns every claim of workers whose lease expired to missing; returns how many pieces moved. */
  expireWorkers(): Promise<number>;
  /** Pieces claimed by other workers (end-game: they may be downloaded again, first staged wins). */
  claimedBy(infoHash: string, excludeWorker?: string): Promise<Claim[]>;
  counts(infoHash: string): Promise<PieceCounts>;
  /** One piece; for handlers deciding whether a message is still current. */
  piece(infoHash: string, index: number): Promise<PieceRecord>;
  /** Every piece; O(pieces), for snapshots, resume and invariant checks. */
  pieces(infoHash: string): Promise<PieceRecord[]>;
  /** Indices in the given state. */
  piecesIn(infoHash: string, state: PieceState): Promise<number[]>;
  isBanned(infoHash: string, peer: string): Promise<boolean>;
  bannedPeers(infoHash: string): Promise<string[]>;
  close(): Promise<void>;
}
