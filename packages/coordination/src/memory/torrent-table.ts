/**
 * One torrent's records inside the memory claim table, and what every operation on them shares:
 * a new table, the one place a piece changes state, a piece's record, and the index check.
 */
import { CoordinationError } from "../errors.js";
import type { PieceRecord, PieceState } from "../piece-state.js";

export interface TorrentTable {
  readonly states: PieceState[];
  readonly attempts: number[];
  readonly holders: (string | undefined)[];
  readonly strikes: Map<string, number>;
  readonly banned: Set<string>;
  readonly counts: Record<PieceState, number>;
  /** Worker -> when its lease on this torrent ends. */
  readonly leases: Map<string, number>;
  /** Worker -> the pieces it holds (claims, held verified pieces), so expiry costs the pieces it moves. */
  readonly held: Map<string, Set<number>>;
  /** Peer -> the worker that owns it. */
  readonly peerOwners: Map<string, string>;
  /** Known peers nobody owns, oldest first. */
  readonly freePeers: Set<string>;
  /** Worker -> the peers it owns, so expiry costs the peers it frees. */
  readonly ownedPeers: Map<string, Set<string>>;
  /** Workers taking part in the peer registry: only their leases count for the fair share. */
  readonly peerWorkers: Set<string>;
  /** Worker -> its availability vector (`publishAvailability`); counted while its lease lasts. */
  readonly availability: Map<string, Uint16Array>;
  /** The job that started the table (`startJob`); none for a table from `createTorrent`. */
  job?: string;
}

/** A table of `pieceCount` missing pieces, with no leases, peers or bans yet. */
export function emptyTorrentTable(pieceCount: number): TorrentTable {
  return {
    states: new Array<PieceState>(pieceCount).fill("missing"),
    attempts: new Array<number>(pieceCount).fill(0),
    holders: new Array<string | undefined>(pieceCount).fill(undefined),
    strikes: new Map(),
    banned: new Set(),
    counts: { missing: pieceCount, claimed: 0, staged: 0, verified: 0, stored: 0, skipped: 0 },
    leases: new Map(),
    held: new Map(),
    peerOwners: new Map(),
    freePeers: new Set(),
    ownedPeers: new Map(),
    peerWorkers: new Set(),
    availability: new Map(),
  };
}

/**
 * The one place a piece changes state: counts, holders and held sets follow. A piece keeps no
 * holder across a move unless the move names one (a claim, or a hold, which keeps the state).
 */
export function movePiece(t: TorrentTable, index: number, to: PieceState, holder?: string): void {
  t.counts[t.states[index]!]--;
  t.counts[to]++;
  t.states[index] = to;
  const before = t.holders[index];
  if (before !== undefined) t.held.get(before)?.delete(index);
  t.holders[index] = holder;
  if (holder !== undefined) {
    let set = t.held.get(holder);
    if (!set) t.held.set(holder, (set = new Set()));
    set.add(index);
  }
}

export function pieceRecord(t: TorrentTable, i: number): PieceRecord {
  const holder = t.holders[i];
  return holder === undefined
    ? { state: t.states[i]!, attempt: t.attempts[i]! }
    : { state: t.states[i]!, attempt: t.attempts[i]!, holder };
}

export function checkIndex(infoHash: string, index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new CoordinationError("PIECE_OUT_OF_RANGE", `piece ${index} is out of range 0..${count - 1} for torrent ${infoHash}`, {
      context: { infoHash, piece: index, pieceCount: count },
    });
  }
}
