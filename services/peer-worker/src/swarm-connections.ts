/**
 * One torrent's live connections in one worker: which sockets are let in and which refused, the
 * banned peers, who gets our upload slots, and what happens when a connection ends.
 */
import type { Socket } from "node:net";
import { RESERVED_BITS, type Bitfield, type Handshake, type Message, type Rc4 } from "@shoal/wire";
import type { Logger } from "@shoal/service-kit";
import type { SocketInput } from "@shoal/wire-net";
import { splitPeerKey } from "./address-book.js";
import type { RateLimit } from "./bandwidth-limiter.js";
import type { BlockScheduler } from "./block-scheduler.js";
import { OPTIMISTIC_INTERVAL_MS, decideUnchokes } from "./choker.js";
import type { PeerWorkerConfig } from "./config.js";
import { PeerConnection } from "./connection.js";
import type { MetadataServer } from "./metadata-server.js";
import { sendOpening } from "./opening-messages.js";
import type { PeerDialer } from "./peer-dialer.js";
import type { PexExchange } from "./pex-exchange.js";

/** What the connections need of the swarm and its parts. */
export interface SwarmConnectionsContext {
  readonly pieceCount: number;
  /** Pieces stored: what the opening messages advertise. */
  readonly have: Bitfield;
  readonly config: PeerWorkerConfig;
  /** The port our handshakes name. */
  readonly listenPort: number;
  readonly peerId: Uint8Array;
  readonly now: () => number;
  readonly random: () => number;
  readonly downloadLimiter: RateLimit | undefined;
  readonly logger: Logger;
  readonly dialer: PeerDialer;
  readonly scheduler: BlockScheduler;
  readonly metadataServer: MetadataServer;
  readonly pex: PexExchange;
  isClosed(): boolean;
  /** Every selected file is complete. */
  isComplete(): boolean;
  /** A message a connection received, checked by the swarm before it changes state. */
  onMessage(conn: PeerConnection, msg: Message): void;
}

export class SwarmConnections {
  private readonly banned = new Set<string>();
  /** IPs of banned peers: an incoming connection from one is refused (its port means nothing). */
  private readonly bannedIps = new Set<string>();
  private optimistic: string | undefined;
  private lastOptimisticAt = 0;

  /** @param conns the swarm's live connections by peer key, kept here. */
  constructor(
    readonly conns: Map<string, PeerConnection>,
    private readonly ctx: SwarmConnectionsContext,
  ) {}

  isBanned(key: string): boolean {
    return this.banned.has(key);
  }

  /**
   * An accepted connection from `key` (the address as seen) asks to join: refused at once when we
   * could not keep it anyway, else when the cluster's registry gives the address to another worker
   * or our share is full. Registered, it is ours until it ends.
   */
  admit(key: string): Promise<boolean> {
    if (this.ctx.isClosed() || this.bannedIps.has(splitPeerKey(key)[0]) || this.conns.size >= this.ctx.config.maxConnections) return Promise.resolve(false);
    return this.ctx.dialer.admit(key);
  }

  /** A peer (not a web seed) sent corrupt data: closed, never dialled or let in again. */
  ban(peer: string): void {
    this.banned.add(peer);
    this.bannedIps.add(splitPeerKey(peer)[0]);
    this.ctx.dialer.book.remove(peer);
    this.conns.get(peer)?.close("banned for sending corrupt data");
    // Owned without a connection (a redial pending): forgotten here, as a closed one is.
    this.ctx.dialer.ended(peer, true);
    this.ctx.scheduler.onBanned(peer);
  }

  /** A connection whose handshake named this torrent (dialled or accepted); `encrypt` is set on an RC4 (MSE) connection. */
  attach(socket: Socket, input: SocketInput, handshake: Handshake, rest: Buffer, key: string, outgoing: boolean, encrypt: Rc4 | null = null): void {
    const pid = Buffer.from(handshake.peerId);
    const refused = this.banned.has(key) || (!outgoing && this.bannedIps.has(splitPeerKey(key)[0]));
    if (pid.equals(Buffer.from(this.ctx.peerId))) {
      // Our own address (trackers list the announcer too): never dial it again.
      if (outgoing) this.ctx.dialer.book.remove(key);
      return this.refuse(socket, key, outgoing);
    }
    // An accepted socket may have closed while the registry was being asked about it.
    if (this.ctx.isClosed() || refused || socket.destroyed) return this.refuse(socket, key, outgoing);
    for (const c of this.conns.values()) {
      // One connection per peer: a seed that also dials us is already here.
      if (Buffer.from(c.peerId).equals(pid) || c.key === key) return this.refuse(socket, key, outgoing);
    }
    if (this.conns.size >= this.ctx.config.maxConnections) return this.refuse(socket, key, outgoing);
    const conn = new PeerConnection(
      socket,
      input,
      key,
      pid,
      RESERVED_BITS.fast(handshake.reserved),
      RESERVED_BITS.extensionProtocol(handshake.reserved),
      outgoing,
      this.ctx.pieceCount,
      {
        onMessage: (c, m) => this.ctx.onMessage(c, m),
        onClose: (c, reason) => this.onClose(c, reason),
        onDrain: (c) => this.ctx.scheduler.fill(c),
      },
      this.ctx.now,
      encrypt,
    );
    conn.downloadLimiter = this.ctx.downloadLimiter;
    this.conns.set(key, conn);
    const [ip, port] = splitPeerKey(key);
    if (outgoing) this.ctx.dialer.book.markConnected(key, ip, port);
    socket.setTimeout(0);
    const fields = this.ctx.metadataServer.handshakeFields();
    sendOpening(conn, this.ctx.have, this.ctx.listenPort, { ...fields, extensions: { ...fields.extensions, ...this.ctx.pex.handshakeFields() } });
    this.ctx.logger.debug({ peer: key, outgoing, encrypted: encrypt !== null }, "connected");
    conn.start(rest);
  }

  /** We need nothing from a seed and it needs nothing from us: close, and do not dial it again. */
  dropSeed(conn: PeerConnection, reason: string): void {
    this.ctx.dialer.book.remove(conn.key);
    conn.close(reason);
  }

  unchokedCount(): number {
    let n = 0;
    for (const c of this.conns.values()) if (!c.amChoking) n++;
    return n;
  }

  /** One choking round: which interested connections we upload to, and the optimistic one. */
  choke(): void {
    const now = this.ctx.now();
    const rotate = now - this.lastOptimisticAt >= OPTIMISTIC_INTERVAL_MS;
    if (rotate) this.lastOptimisticAt = now;
    const decision = decideUnchokes({
      peers: [...this.conns.values()].map((c) => ({
        id: c.key,
        interested: c.peerInterested,
        downloadRate: c.download.rate(),
        uploadRate: c.upload.rate(),
      })),
      slots: this.ctx.config.uploadSlots,
      seeding: this.ctx.isComplete(),
      optimistic: this.optimistic,
      rotate,
      random: this.ctx.random,
    });
    this.optimistic = decision.optimistic;
    for (const c of this.conns.values()) c.setChoking(!decision.unchoke.has(c.key));
  }

  private refuse(socket: Socket, key: string, outgoing: boolean): void {
    socket.destroy();
    this.ctx.dialer.ended(key, outgoing);
  }

  private onClose(conn: PeerConnection, reason: string): void {
    if (this.conns.get(conn.key) !== conn) return;
    this.conns.delete(conn.key);
    this.ctx.dialer.book.disconnected(conn.key);
    this.ctx.dialer.ended(conn.key, conn.outgoing);
    this.ctx.scheduler.onConnectionLost(conn);
    this.ctx.logger.debug({ peer: conn.key, reason }, "disconnected");
    if (reason.startsWith("protocol violation")) this.ctx.logger.warn({ peer: conn.key, reason }, "peer dropped");
    this.ctx.dialer.run();
  }
}
