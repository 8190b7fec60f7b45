import type { Socket } from "node:net";
import type { ObjectStore } from "@shoal/coordination";
import type { Bitfield } from "@shoal/wire";
import type { RateLimit } from "./bandwidth-limiter.js";
import type { PeerConnection } from "./connection.js";
import type { RateMeter } from "./rate-meter.js";
import type { RecentPieces } from "./recent-pieces.js";

/** Requests queued per peer; more than any sane client pipelines (libtorrent's default is 500). */
const MAX_QUEUED_REQUESTS = 1000;
/** Whole pieces kept in memory for serving: peers usually ask for a piece block by block. */
const PIECE_CACHE_ENTRIES = 8;

/**
 * Serves REQUESTs for pieces we have: validates them, reads through a small piece cache from the
 * object store, and respects socket back-pressure.
 */
export class Uploader {
  private readonly cache = new Map<number, Promise<Buffer | undefined>>();

  constructor(
    private readonly infoHash: string,
    private readonly have: Bitfield,
    private readonly pieceLength: (index: number) => number,
    private readonly pieceLengthNominal: number,
    private readonly store: ObjectStore,
    /** Counts every block served, for the torrent's totals and rate. */
    private readonly sent: RateMeter,
    private readonly limiter?: RateLimit,
    /** Pieces downloaded here lately, served before asking the store. */
    private readonly recent?: RecentPieces,
  ) {}

  /** Returns false when the request is a protocol violation (the caller drops the peer). */
  onRequest(conn: PeerConnection, index: number, begin: number, length: number): boolean {
    if (begin + length > this.pieceLength(index)) return false;
    if (conn.amChoking || !this.have.has(index) || conn.uploadQueue.length >= MAX_QUEUED_REQUESTS) {
      if (conn.fast) conn.send({ type: "reject", index, begin, length });
      return true;
    }
    conn.uploadQueue.push({ index, begin, length });
    if (!conn.uploading) void this.pump(conn);
    return true;
  }

  onCancel(conn: PeerConnection, index: number, begin: number, length: number): void {
    const i = conn.uploadQueue.findIndex((r) => r.index === index && r.begin === begin && r.length === length);
    if (i >= 0) conn.uploadQueue.splice(i, 1);
  }

  private async pump(conn: PeerConnection): Promise<void> {
    conn.uploading = true;
    try {
      while (!conn.closed && !conn.amChoking && conn.uploadQueue.length > 0) {
        const r = conn.uploadQueue.shift()!;
        const piece = await this.read(r.index);
        if (!piece) {
          // Stored but not readable here yet (an S3 object is readable only once its upload is
          // complete): say so at once where the peer understands it, instead of letting its
          // request time out.
          if (conn.fast && !conn.closed) conn.send({ type: "reject", index: r.index, begin: r.begin, length: r.length });
          continue;
        }
        if (conn.closed || conn.amChoking) break;
        if (this.limiter) await this.limiter.take(r.length);
        if (conn.closed || conn.amChoking) break;
        const ok = conn.sendPiece(r.index, r.begin, piece.subarray(r.begin, r.begin + r.length));
        this.sent.add(r.length);
        if (!ok) await drainedOrClosed(conn.socket);
      }
    } finally {
      conn.uploading = false;
    }
  }

  private read(index: number): Promise<Buffer | undefined> {
    let p = this.cache.get(index);
    const kept = p ? undefined : this.recent?.get(index);
    if (kept) {
      // A copy: the kept buffer goes back to the piece pool once evicted, while sockets may
      // still be sending blocks of it.
      p = Promise.resolve(Buffer.from(kept));
      this.cache.set(index, p);
      if (this.cache.size > PIECE_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as number);
      return p;
    }
    if (!p) {
      p = this.store.readRange(this.infoHash, index * this.pieceLengthNominal, this.pieceLength(index)).catch(() => undefined);
      this.cache.set(index, p);
      // An unreadable piece is asked for again next time: it may be readable by then.
      const read = p;
      void read.then((b) => {
        if (!b && this.cache.get(index) === read) this.cache.delete(index);
      });
      if (this.cache.size > PIECE_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as number);
    }
    return p;
  }
}

/**
 * Resolves when the socket drains or closes, removing both listeners whichever fires: a listener
 * left behind per full write would pile up for the life of the connection.
 */
function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done).off("close", done);
      resolve();
    };
    socket.on("drain", done).on("close", done);
  });
}
