/**
 * The block requests one connection is sent and the blocks that answer them: how deep its
 * pipeline is, which free blocks of a piece it is asked for, end-game duplicates, which received
 * blocks are taken into a piece, and requests taken back when they will not be answered or are no
 * longer wanted.
 */
import type { Logger } from "@shoal/service-kit";
import { BLOCK_BYTES, BLOCK_FREE, BLOCK_RECEIVED, BLOCK_REQUESTED, blockKey, splitBlockKey, type ActivePiece } from "./active-piece.js";
import type { PeerConnection } from "./connection.js";
import type { PieceBufferPool } from "./piece-buffer-pool.js";

/** End-game: at most this many connections are asked for the same block. */
const MAX_DUPLICATE_REQUESTS = 2;
/** End-game: duplicate requests an idle connection sends at once. */
const ENDGAME_DUPLICATES_PER_CONNECTION = 4;

export interface PipelineOptions {
  /** Requests in flight per connection: at least this many once unchoked (deep pipelining). */
  readonly minPipeline: number;
  readonly maxPipeline: number;
  /** Seconds of a connection's rate to keep in flight (the pipeline grows with the rate). */
  readonly pipelineSeconds: number;
}

/** What requesting and receiving blocks needs of the scheduler. */
export interface BlockRequestContext {
  readonly now: () => number;
  /** Where a piece's buffer comes from when its first block arrives. */
  readonly pool: PieceBufferPool;
  /** Whether `conn` may be asked for `piece` (its data for it never failed the hash). */
  mayAsk(conn: PeerConnection, piece: number): boolean;
}

/** Requests to keep in flight on `conn`. */
export function pipelineTarget(conn: PeerConnection, opts: PipelineOptions): number {
  if (conn.snubbed) return 1;
  const byRate = Math.ceil((conn.download.rate() * opts.pipelineSeconds) / BLOCK_BYTES);
  // The peer's own queue limit (`reqq`) wins over our minimum: requests beyond it are dropped.
  return Math.max(1, Math.min(Math.max(opts.minPipeline, byRate), opts.maxPipeline, conn.peerRequestQueue));
}

/** Asks `conn` for up to `room` free blocks of `p`; returns the room left. */
export function requestFrom(conn: PeerConnection, p: ActivePiece | undefined, room: number, ctx: BlockRequestContext): number {
  if (!p || p.source !== undefined || p.requested + p.received >= p.blockCount || !conn.bitfield.has(p.index)) return room;
  if (!ctx.mayAsk(conn, p.index)) return room;
  for (let b = 0; b < p.blockCount && room > 0; b++) {
    if (p.blocks[b] !== BLOCK_FREE) continue;
    p.blocks[b] = BLOCK_REQUESTED;
    p.requested++;
    p.requesters.set(b, [conn]);
    conn.outstanding.set(blockKey(p.index, b), ctx.now());
    conn.activePieces.add(p.index);
    conn.sendRequest(p.index, b * BLOCK_BYTES, p.blockLength(b));
    room--;
  }
  if (p.requested + p.received >= p.blockCount) conn.activePieces.delete(p.index);
  return room;
}

/**
 * End-game duplicates, libtorrent's strict way: only a connection with nothing else in flight
 * asks for blocks another connection is fetching, and only a few at a time, so the waste stays
 * a few blocks per connection instead of a whole pipeline.
 */
export function requestDuplicates(conn: PeerConnection, active: Iterable<ActivePiece>, room: number, ctx: BlockRequestContext): number {
  if (conn.outstanding.size > 0) return room;
  const budget = Math.min(room, ENDGAME_DUPLICATES_PER_CONNECTION);
  room -= budget;
  let left = budget;
  for (const p of active) {
    if (left <= 0) break;
    if (!conn.bitfield.has(p.index) || !ctx.mayAsk(conn, p.index)) continue;
    for (const [b, list] of p.requesters) {
      if (left <= 0) break;
      if (p.blocks[b] !== BLOCK_REQUESTED || list.includes(conn) || list.length >= MAX_DUPLICATE_REQUESTS) continue;
      list.push(conn);
      conn.outstanding.set(blockKey(p.index, b), ctx.now());
      conn.sendRequest(p.index, b * BLOCK_BYTES, p.blockLength(b));
      left--;
    }
  }
  return room + left;
}

/**
 * A block `conn` sent for piece `index` (`p` while it is in progress here): taken into the piece
 * when it answers one of our requests, and the other connections asked for it are told to cancel.
 * Returns false when the block was not taken: its bytes are waste.
 */
export function acceptBlock(conn: PeerConnection, p: ActivePiece | undefined, index: number, begin: number, block: Buffer, ctx: BlockRequestContext): boolean {
  const bi = begin / BLOCK_BYTES;
  const key = blockKey(index, Math.floor(bi));
  // Only a block-aligned message can answer one of our requests; anything else is waste and
  // must not take a request's place (that block would then never time out).
  const requested = begin % BLOCK_BYTES === 0 && conn.outstanding.delete(key);
  conn.download.add(block.length);
  if (requested) {
    conn.lastBlockAt = ctx.now();
    conn.snubbed = false;
  }
  // A block this connection was not asked for is dropped even when its slot is free: nothing
  // vouches for it, and taken into a piece it fails the hash and gets honest senders blamed.
  if (!requested || !p || bi >= p.blockCount || p.blocks[bi] === BLOCK_RECEIVED || block.length !== p.blockLength(bi)) {
    if (requested && p && bi < p.blockCount) p.dropRequester(bi, conn);
    return false;
  }
  if (!p.buf) p.buf = ctx.pool.acquire(p.length);
  block.copy(p.buf, begin);
  if (p.blocks[bi] === BLOCK_REQUESTED) p.requested--;
  p.blocks[bi] = BLOCK_RECEIVED;
  p.received++;
  p.blockFrom[bi] = conn.key;
  p.lastProgressAt = ctx.now();
  const others = p.requesters.get(bi);
  if (others) {
    for (const other of others) {
      if (other === conn) continue;
      other.outstanding.delete(key);
      other.send({ type: "cancel", index, begin, length: block.length });
    }
    p.requesters.delete(bi);
  }
  return true;
}

/** The peer will not send these (choked us, rejected, or the connection died). */
export function returnRequests(conn: PeerConnection, active: ReadonlyMap<number, ActivePiece>, only?: number): void {
  const keys = only === undefined ? [...conn.outstanding.keys()] : [only];
  for (const key of keys) {
    if (!conn.outstanding.delete(key)) continue;
    const { index, block } = splitBlockKey(key);
    active.get(index)?.dropRequester(block, conn);
  }
}

/**
 * A connection that answered none of its requests for `timeoutMs` is snubbed (one request in
 * flight until it sends a block): its requests are cancelled and their blocks asked elsewhere.
 */
export function snubIfTimedOut(conn: PeerConnection, active: ReadonlyMap<number, ActivePiece>, now: number, timeoutMs: number, logger: Logger): void {
  if (conn.outstanding.size > 0 && now - conn.lastBlockAt > timeoutMs) {
    if (!conn.snubbed) logger.debug({ peer: conn.key }, "requests timed out; peer snubbed, blocks asked elsewhere");
    conn.snubbed = true;
    for (const key of [...conn.outstanding.keys()]) {
      const { index, block } = splitBlockKey(key);
      const p = active.get(index);
      conn.send({ type: "cancel", index, begin: block * BLOCK_BYTES, length: p ? p.blockLength(block) : BLOCK_BYTES });
    }
    returnRequests(conn, active);
    conn.lastBlockAt = now;
  }
}

/** The piece is done or dropped: no connection waits for its blocks, and with `cancel` they are told so. */
export function withdrawRequests(p: ActivePiece, cancel: boolean): void {
  for (const [b, list] of p.requesters) {
    for (const conn of list) {
      conn.outstanding.delete(blockKey(p.index, b));
      if (cancel) conn.send({ type: "cancel", index: p.index, begin: b * BLOCK_BYTES, length: p.blockLength(b) });
    }
  }
  p.requesters.clear();
}
