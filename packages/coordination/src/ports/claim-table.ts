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
  /** Pieces no selected file needs: never claimed, not part of completion. */
  readonly skipped: number;
}

export interface RejectOutcome {
  readonly result: TransitionResult;
  /** Peers (ip:port) that crossed the ban threshold because of this rejection. */
  readonly banned: readonly string[];
}

/** What `startJob` did with the torrent's table. */
export const JOB_STARTS = ["created", "kept", "rebuilt"] as const;
export type JobStart = (typeof JOB_STARTS)[number];

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
  /**
   * Creates the table with every piece missing except `stored`, and except `skipped` (pieces that
   * only unselected files need: nobody claims them; `stored` wins where both name a piece).
   * A second call keeps the first table.
   */
  createTorrent(infoHash: string, pieceCount: number, stored: Iterable<number>, skipped?: Iterable<number>): Promise<void>;
  /**
   * A job starts on the torrent: its owner calls this once it has rechecked what the destination
   * holds. The table is the job's own from here on:
   * - `created`: there was none; it is made as by `createTorrent`.
   * - `kept`: the table was started by this same job (the job moved to another owner mid-way,
   *   after a crash or a rolling restart); it stays as it is, live claims and held pieces included.
   * - `rebuilt`: the table was left by another job (cancelled, failed or complete, maybe for
   *   another destination), or made by `createTorrent`: its `stored` says what that job's
   *   destination held then, which the recheck has replaced. Every piece becomes `stored` or
   *   `skipped` as the arguments say and `missing` otherwise; claims, held pieces and leases are
   *   dropped. Attempt numbers are kept, so late messages of the earlier job stay stale, and so
   *   are strikes and bans.
   * Bad indices fail with PIECE_OUT_OF_RANGE before anything changes, unless the table is kept.
   */
  startJob(infoHash: string, jobId: string, pieceCount: number, stored: Iterable<number>, skipped?: Iterable<number>): Promise<JobStart>;
  /** Removes every key of the torrent. */
  deleteTorrent(infoHash: string): Promise<void>;
  /**
   * Keeps the worker's liveness lease on one torrent for `ttlMs`; its claims in the torrent, and
   * the verified pieces it holds there (`hold`), die with it. The lease lives with the torrent's
   * other state (one Redis Cluster slot), so a worker refreshes it for each torrent it takes part in.
   */
  heartbeat(infoHash: string, workerId: string, ttlMs: number): Promise<void>;
  /**
   * Claims up to `max` of `candidates`, in the given order, skipping pieces that are not missing.
   * The caller orders the candidates (rarest first); the table only arbitrates.
   */
  claim(infoHash: string, workerId: string, candidates: readonly number[], max: number): Promise<Claim[]>;
  /**
   * Gives a claim, or a verified piece held with `hold`, back (missing again); only its holder at
   * the same attempt may (`not_holder` otherwise). The attempt stays; the next claim raises it.
   */
  release(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult>;
  /**
   * Moves the current attempt to staged. Any worker may stage the current attempt (end-game
   * duplicates race; the first staged wins); a later attempt number or a different state fails.
   * The piece is then held by `workerId` under its lease (and its lease made, lapsed, if it has
   * none) until the verifier moves it on, so a worker that dies before its `piece_staged` message
   * leaves does not leave the piece staged forever; it may `release` it like a claim.
   */
  stage(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult>;
  verify(infoHash: string, claim: Claim): Promise<TransitionResult>;
  /** Hash failure: back to missing, and each blamed peer gets a strike; returns who got banned. */
  reject(infoHash: string, claim: Claim, blamedPeers: readonly string[]): Promise<RejectOutcome>;
  store(infoHash: string, claim: Claim): Promise<TransitionResult>;
  /** Staged or verified bytes were lost: the piece goes back to missing. */
  unstage(infoHash: string, claim: Claim): Promise<TransitionResult>;
  /**
   * Returns every claim in the torrent of workers whose lease on it lapsed (or that never had
   * one) to missing, and every verified piece such a worker held (`hold`); returns how many
   * pieces moved. Costs the number of pieces it moves, not the number of pieces of the torrent.
   */
  expireWorkers(infoHash: string): Promise<number>;
  /** Pieces claimed by other workers (end-game: they may be downloaded again, first staged wins). */
  claimedBy(infoHash: string, excludeWorker?: string): Promise<Claim[]>;
  /** Pieces per state; kept as the table changes, so a read costs O(1). */
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
  /**
   * A storage-writer takes verified pieces under its lease on the torrent (TRANSITIONS.hold): the
   * store keeps their bytes in memory until the rest of their part arrives, so they must go back
   * to missing if the writer dies, as a lapsed claim does. Returns one result per claim, in order:
   * `ok` when the piece is verified at that attempt (it is then held by `workerId`, taken over
   * from another holder if it had one; holding it again is `ok`), `stale_attempt` or
   * `wrong_state` otherwise. A held piece stays `verified` and counts as such; its holder shows in
   * `piece`/`pieces`. The hold ends with `store` or `unstage` (anyone), `release` (the holder), or
   * when the holder's lease lapses (`expireWorkers`). A worker that holds without a heartbeat
   * loses the pieces on the next expiry, as with `claim`. Every index is checked before any
   * piece is held (PIECE_OUT_OF_RANGE).
   */
  hold(infoHash: string, workerId: string, claims: readonly Claim[]): Promise<TransitionResult[]>;
  /**
   * `expireWorkers`, saying which pieces it moved, each with the attempt it had, in piece order:
   * the torrent's owner announces them as missing again (`piece_failed` with no peers), so the
   * workers that staged held pieces, and still wait for them to be stored, download them again.
   */
  expireLeases(infoHash: string): Promise<Claim[]>;
}
