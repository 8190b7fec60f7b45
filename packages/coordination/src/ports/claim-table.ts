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

/** What `claimPeers` answers. */
export interface PeerGrant {
  /**
   * The peers the worker owns after the call among those it named (newly granted and already its
   * own), followed by the free known peers it was granted without naming them.
   */
  readonly peers: string[];
  /**
   * The most peers the worker should own at the time of the call (`peerShareOf`): its fair share
   * over the live peer workers, lowered when other workers lack peers that no free one can give
   * them. No claim takes it past this; a worker that owns more (workers joined since it took
   * them) should drop connections until it is back within it.
   */
  readonly share: number;
  /**
   * The torrent's live peer workers at the time of the call, the caller included: the count the
   * share is computed over. A worker that joined compares it with the cluster's peer workers
   * (`peerWorkerPresence`) to know when every one of them has registered with the torrent.
   */
  readonly liveWorkers: number;
}

/** A peer the torrent's registry knows, and the worker that owns it, if any. */
export interface KnownPeer {
  readonly peer: string;
  readonly owner?: string;
}

export interface ReleasePeersOptions {
  /**
   * Forget the peers instead of making them free for others: they failed to connect, were
   * banned, or their address means nothing any more (an incoming connection's port). A peer is
   * known again once some worker names it in `claimPeers` (the next tracker answer).
   */
  readonly forget?: boolean;
}

/**
 * Free peers a torrent's registry remembers, at most. Trackers hand out up to a few hundred per
 * announce and a swarm seldom has more than a few thousand; as many as a worker's address book
 * keeps, so the registry forgets nothing a worker would remember. Owned peers do not count (they
 * are bounded by the workers' connection limits).
 */
export const MAX_FREE_PEERS = 4000;

/**
 * The slack of a fair share is the even split divided by this, rounded down: a tenth. Peers come
 * and go by ones (a dial fails, an incoming connection ends), and without slack every such change
 * could push a worker one over its share; a tenth absorbs that in a large swarm, while a swarm of
 * a handful of peers is still split exactly (the slack is 0 below ten peers a worker).
 */
export const PEER_SHARE_SLACK_DIVISOR = 10;

/**
 * The most peers one worker may own in a torrent: the even split of the known peers (owned,
 * free, and the ones a claim names that were not known yet) over the live workers, plus a slack
 * of a tenth of it. `liveWorkers` counts the peer workers (those that have called `claimPeers`
 * in the torrent) whose lease on it has not ended, and the claiming worker even without one;
 * other holders of leases (storage-writers holding pieces) take no peers and do not count.
 */
export function fairPeerShare(knownPeers: number, liveWorkers: number): number {
  const even = Math.ceil(knownPeers / Math.max(1, liveWorkers));
  return even + Math.floor(even / PEER_SHARE_SLACK_DIVISOR);
}

/**
 * The share `claimPeers` answers: `fairPeerShare`, unless the other live peer workers lack more
 * peers to reach the even split rounded down (`lacking`) than are free (`free`). Then the worker
 * is asked to give the difference back (`owned - (lacking - free)`), but never to go below that
 * rounded-down split itself: with four peers held 2-2-0 by three workers, the two that hold two
 * are each asked to keep one. Several workers may give at once; the surplus stays free for the
 * next claim, and nobody is asked again once nobody lacks.
 */
export function peerShareOf(knownPeers: number, liveWorkers: number, owned: number, lacking: number, free: number): number {
  const share = fairPeerShare(knownPeers, liveWorkers);
  if (lacking <= free) return share;
  return Math.min(share, Math.max(Math.floor(knownPeers / Math.max(1, liveWorkers)), owned - (lacking - free)));
}

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
   *   `skipped` as the arguments say and `missing` otherwise; claims and held pieces are
   *   dropped. Attempt numbers are kept, so late messages of the earlier job stay stale, and so
   *   are strikes, bans, leases and the peer registry.
   * Bad indices fail with PIECE_OUT_OF_RANGE before anything changes, unless the table is kept.
   */
  startJob(infoHash: string, jobId: string, pieceCount: number, stored: Iterable<number>, skipped?: Iterable<number>): Promise<JobStart>;
  /** Removes every key of the torrent. */
  deleteTorrent(infoHash: string): Promise<void>;
  /**
   * Keeps the worker's liveness lease on one torrent for `ttlMs`; its claims in the torrent, and
   * the verified pieces it holds there (`hold`), die with it. The lease lives with the torrent's
   * other state (one Redis Cluster slot), so a worker refreshes it for each torrent it takes part in.
   * A `ttlMs` of 0 ends the lease now: a worker leaving the torrent stops counting as live for the
   * fair peer share at once.
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
  /**
   * The peer registry: which worker connects which remote peer (ip:port), so no peer is connected
   * by two workers of the cluster at once. Registers `peers` as known (banned ones excepted; free
   * ones are remembered up to MAX_FREE_PEERS), then grants the worker the free ones among them in
   * the given order, then free known peers it did not name, until it has `max` new peers, owns
   * its share (answered as `share`: `peerShareOf`, the fair share unless other workers lack
   * peers), or would leave fewer free peers than the other live peer workers lack to reach the
   * even split rounded down (so the first to ask cannot take what rounding up would let it: four
   * peers, three workers, gives 2-1-1, not 2-2-0). Peers it already owns are answered too
   * and do not count against `max`; peers another worker owns are never granted. A call makes
   * the worker a peer worker of the torrent, counted as live while its lease lasts (call with no
   * peers and `max` 0 to take part before asking for any). Ownership lives with the worker's
   * lease on the torrent, as piece claims do: `expireWorkers` (and `expireLeases`) frees the
   * peers of a lapsed worker and ends its part (one that calls without a lease gets a lapsed
   * one). Costs the peers in the call, the peers granted and the peer workers (a handful), not
   * the registry's size.
   */
  claimPeers(infoHash: string, workerId: string, peers: readonly string[], max: number): Promise<PeerGrant>;
  /**
   * Gives up the worker's ownership of `peers` (others' peers and unknown ones are ignored): they
   * become free for any worker, or are forgotten with `forget` (and banned peers always are).
   * Returns how many the worker owned.
   */
  releasePeers(infoHash: string, workerId: string, peers: readonly string[], options?: ReleasePeersOptions): Promise<number>;
  /** Every peer the registry knows, owned or free; O(known peers), for snapshots and checks. */
  knownPeers(infoHash: string): Promise<KnownPeer[]>;
  /**
   * The cluster's peer workers, whatever torrents they are in: records `workerId` as a live peer
   * worker until `ttlMs` from now (on the lease clock), or removes it at once with a `ttlMs` of
   * 0, and answers how many peer workers are live after the call, the caller included unless it
   * just left. A worker that joins a torrent waits for that many to have registered with the
   * torrent's peer registry (`PeerGrant.liveWorkers`) before it dials. Not a torrent's: one key
   * for the cluster; costs the entries that lapsed since the last call, and one count.
   */
  peerWorkerPresence(workerId: string, ttlMs: number): Promise<number>;
  /**
   * Cluster-wide availability, the input of rarest first across workers: replaces the worker's
   * vector, `counts[i]` being how many of its connected peers have piece i. It counts in
   * `availability` while the worker's lease on the torrent is current (one that publishes without
   * a lease gets a lapsed one, as with `claim`); `expireWorkers` drops the vectors of lapsed
   * workers. The table keeps a copy, so the caller may change `counts` once the call returned.
   * Throws CoordinationError LENGTH_MISMATCH, changing nothing, when `counts.length` is not the
   * torrent's piece count. Costs one write of two bytes per piece, whatever the worker count.
   */
  publishAvailability(infoHash: string, workerId: string, counts: Uint16Array): Promise<void>;
  /**
   * Per piece, the sum of the vectors of the workers whose lease on the torrent is current,
   * without `excludeWorker`'s (a worker adds its own live counts to the others'). Sums saturate
   * at MAX_AVAILABILITY. The answer has one count per piece; all zero when nobody published.
   * Costs one read of the live workers' vectors.
   */
  availability(infoHash: string, excludeWorker?: string): Promise<Uint16Array>;
  /**
   * Drops the worker's vector: it leaves the torrent. Harmless when it has none, and for a torrent
   * that is gone (a worker leaving after the table was deleted).
   */
  withdrawAvailability(infoHash: string, workerId: string): Promise<void>;
}
