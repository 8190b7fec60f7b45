/**
 * What a connection's messages do to one torrent's swarm: blocks go to the scheduler, haves and
 * bitfields to availability and interest, requests to the uploader, and extension messages to the
 * metadata server and peer exchange.
 */
import { Bitfield, SHOAL_UT_PEX_ID, decodeExtensionHandshake, type Message } from "@shoal/wire";
import type { Logger } from "@shoal/service-kit";
import { BLOCK_BYTES, blockKey } from "./active-piece.js";
import type { BlockScheduler } from "./block-scheduler.js";
import type { PeerWorkerConfig } from "./config.js";
import type { PeerConnection } from "./connection.js";
import type { MetadataServer } from "./metadata-server.js";
import type { PexExchange } from "./pex-exchange.js";
import type { RateMeter } from "./rate-meter.js";
import type { SwarmConnections } from "./swarm-connections.js";
import type { Uploader } from "./uploader.js";

/** What the handler needs of the swarm and its parts. */
export interface PeerMessageContext {
  readonly pieceCount: number;
  /** Pieces we need nothing more of: a peer having one of these does not make it interesting. */
  readonly done: Bitfield;
  readonly config: PeerWorkerConfig;
  /** Every payload byte received in the torrent. */
  readonly received: RateMeter;
  readonly scheduler: BlockScheduler;
  readonly uploader: Uploader;
  readonly metadataServer: MetadataServer;
  readonly pex: PexExchange;
  readonly connections: SwarmConnections;
  readonly logger: Logger;
  /** Every selected file is complete. */
  isComplete(): boolean;
}

export class PeerMessageHandler {
  constructor(private readonly ctx: PeerMessageContext) {}

  onMessage(conn: PeerConnection, msg: Message): void {
    switch (msg.type) {
      case "piece":
        this.ctx.received.add(msg.block.length);
        this.ctx.scheduler.onBlock(conn, msg.index, msg.begin, msg.block);
        return;
      case "have":
        this.gotPiece(conn, msg.index);
        if (!conn.peerChoking) this.ctx.scheduler.fill(conn);
        return;
      case "bitfield":
        for (const i of new Bitfield(this.ctx.pieceCount, msg.bits).indices()) this.gotPiece(conn, i);
        return;
      case "have_all":
        for (let i = 0; i < this.ctx.pieceCount; i++) this.gotPiece(conn, i);
        return;
      case "have_none":
      case "keep_alive":
      case "port":
      case "suggest":
      case "allowed_fast":
        return;
      case "choke":
        conn.peerChoking = true;
        this.ctx.scheduler.returnRequests(conn);
        this.ctx.scheduler.fillAll();
        return;
      case "unchoke":
        conn.peerChoking = false;
        this.ctx.scheduler.onUnchoked(conn);
        return;
      case "interested":
        conn.peerInterested = true;
        if (this.ctx.connections.unchokedCount() < this.ctx.config.uploadSlots) conn.setChoking(false);
        return;
      case "not_interested":
        conn.peerInterested = false;
        return;
      case "request":
        if (!this.ctx.uploader.onRequest(conn, msg.index, msg.begin, msg.length)) {
          this.ctx.logger.warn({ peer: conn.key, piece: msg.index }, "request outside the piece; dropping peer");
          conn.close("request outside the piece");
        }
        return;
      case "cancel":
        this.ctx.uploader.onCancel(conn, msg.index, msg.begin, msg.length);
        return;
      case "reject":
        if (msg.begin % BLOCK_BYTES === 0) this.ctx.scheduler.returnRequests(conn, blockKey(msg.index, msg.begin / BLOCK_BYTES));
        return;
      case "extended":
        if (msg.id === 0) {
          const info = decodeExtensionHandshake(msg.payload);
          if (info.requestQueue) conn.peerRequestQueue = info.requestQueue;
          this.ctx.metadataServer.onHandshake(conn, info);
          this.ctx.pex.onHandshake(conn, info);
        } else if (msg.id === SHOAL_UT_PEX_ID) this.ctx.pex.onMessage(conn, msg.payload);
        else this.ctx.metadataServer.onMessage(conn, msg.id, msg.payload);
        return;
    }
  }

  /** Interested while the peer has a piece we still need; a seed is dropped once we are complete too. */
  updateInterest(conn: PeerConnection): void {
    conn.setInterested(conn.interestingPieces > 0);
    if (conn.amInterested && !conn.peerChoking) this.ctx.scheduler.fill(conn);
    if (this.ctx.isComplete() && conn.bitfield.isComplete()) this.ctx.connections.dropSeed(conn, "both complete");
  }

  private gotPiece(conn: PeerConnection, index: number): void {
    if (conn.bitfield.has(index)) return;
    conn.bitfield.set(index);
    this.ctx.scheduler.onPeerHas(index);
    if (!this.ctx.done.has(index)) {
      conn.interestingPieces++;
      if (conn.interestingPieces === 1) this.updateInterest(conn);
    }
  }
}
