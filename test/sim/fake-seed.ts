import { EventEmitter } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { Bitfield, encodeMessage, type Message } from "@shoal/wire";
import type { TorrentFixture } from "./torrent-fixture.js";
import { WireSession, dialWorker, ourHandshake, readHandshake } from "./wire-session.js";

/** What a fake seed does besides serving honestly. Every knob is off by default. */
export interface SeedBehavior {
  /** BEP 6 bit in the handshake (have_all, reject). On by default, like every modern client. */
  readonly fast?: boolean;
  /** Pieces it has; all of them when absent. */
  readonly has?: readonly number[];
  /** Announces itself with have_all instead of a bitfield (needs `fast`). */
  readonly haveAll?: boolean;
  /** Blocks of these pieces are served with every byte inverted. */
  readonly corruptPieces?: readonly number[];
  /** Unchokes, takes requests, never answers one. */
  readonly stall?: boolean;
  /** After serving this many blocks it chokes, drops its queue and never unchokes again. */
  readonly chokeAfterBlocks?: number;
  /** After serving this many blocks it hangs up. */
  readonly closeAfterBlocks?: number;
  /** Answers each request with BEP 6 reject instead of the block. */
  readonly rejectRequests?: boolean;
  /** Serves one block per this many milliseconds (a slow uplink), oldest request first. */
  readonly serveIntervalMs?: number;
  /**
   * Hostile: right after its bitfield, sends every block of every piece it has, unasked and with
   * every byte inverted; requests are then served honestly.
   */
  readonly unrequestedBlocks?: boolean;
  /** Hostile: its bitfield has the spare bits after the last piece set. */
  readonly spareBits?: boolean;
  /** Hostile: right after its bitfield, a length prefix of more than 1 MiB. */
  readonly oversizeMessage?: boolean;
  /** Hostile: answers the first request with a block longer than 16 KiB. */
  readonly oversizeBlock?: boolean;
  /** Answers the first request with its bytes shifted by one (begin + 1), then serves honestly. */
  readonly misalignedBlock?: boolean;
  /** Hostile: right after its bitfield, a have for the index one past the last piece. */
  readonly haveOutOfRange?: boolean;
}

export interface SeedStats {
  connections: number;
  requests: number;
  cancels: number;
  rejectsSent: number;
  blocksServed: number;
  corruptBlocksServed: number;
  /** Blocks pushed without a request (`unrequestedBlocks`). */
  unrequestedBlocksSent: number;
  /** Connections the other side (the worker) closed. */
  closedByRemote: number;
}

interface PendingRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** A length prefix past the worker's 1 MiB + 13 byte limit; the body never follows. */
const OVERSIZE_PREFIX_BYTES = 2 * 1024 * 1024;
/** A block 1 KiB longer than the 16 KiB every client asks for. */
const OVERSIZE_BLOCK_BYTES = 17 * 1024;

/**
 * A scripted seed on a real loopback socket, speaking the wire through @shoal/wire. It answers
 * the handshake, announces its pieces, unchokes whoever is interested and serves requests from
 * the fixture's payload, unless a `SeedBehavior` knob says otherwise. Events: `request`,
 * `cancel`, `block` (served), `remote-close` (the worker hung up), each with the session.
 */
export class FakeSeed extends EventEmitter {
  readonly stats: SeedStats = {
    connections: 0,
    requests: 0,
    cancels: 0,
    rejectsSent: 0,
    blocksServed: 0,
    corruptBlocksServed: 0,
    unrequestedBlocksSent: 0,
    closedByRemote: 0,
  };
  readonly sessions: WireSession[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly corrupt: ReadonlySet<number>;

  private constructor(
    private readonly server: Server,
    readonly ip: string,
    readonly port: number,
    private readonly fixture: TorrentFixture,
    readonly behavior: SeedBehavior,
  ) {
    super();
    this.corrupt = new Set(behavior.corruptPieces ?? []);
  }

  /** Listens on `ip` (a 127.0.0.0/8 address of its own, so bans by address stay separate), port 0. */
  static async start(fixture: TorrentFixture, ip: string, behavior: SeedBehavior = {}): Promise<FakeSeed> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, ip, () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const seed = new FakeSeed(server, ip, port, fixture, behavior);
    server.on("connection", (socket) => void seed.accept(socket));
    return seed;
  }

  /** `ip:port`, the key the worker dials, blames and bans it under. */
  get key(): string {
    return `${this.ip}:${this.port}`;
  }

  get address(): { ip: string; port: number } {
    return { ip: this.ip, port: this.port };
  }

  /** Every message the worker sent it, over all connections. */
  received(): Message[] {
    return this.sessions.flatMap((s) => s.received);
  }

  /** Dials the worker as an incoming peer would (from its own address) and seeds over that connection. */
  async dialInto(host: string, port: number): Promise<WireSession> {
    const session = await dialWorker(host, port, this.fixture.meta.infoHash, this.fixture.pieceCount, {
      fast: this.behavior.fast ?? true,
      localAddress: this.ip,
    });
    this.sockets.add(session.socket);
    session.socket.on("close", () => this.sockets.delete(session.socket));
    this.stats.connections++;
    this.sessions.push(session);
    new SeedConnection(this, session, this.fixture, this.corrupt, this.timers).begin();
    return session;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sessions) s.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async accept(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    let session: WireSession;
    try {
      const { handshake, rest } = await readHandshake(socket);
      if (!Buffer.from(handshake.infoHash).equals(Buffer.from(this.fixture.meta.infoHash))) {
        socket.destroy();
        return;
      }
      socket.write(ourHandshake(this.fixture.meta.infoHash, { fast: this.behavior.fast ?? true }));
      session = new WireSession(socket, handshake, this.fixture.pieceCount, rest);
    } catch {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    this.sessions.push(session);
    new SeedConnection(this, session, this.fixture, this.corrupt, this.timers).begin();
  }
}

/** The behaviour of one connection of a fake seed. */
class SeedConnection {
  private choking = true;
  private chokedForGood = false;
  private served = 0;
  private sentOversizeBlock = false;
  private sentMisalignedBlock = false;
  private readonly queue: PendingRequest[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly seed: FakeSeed,
    private readonly session: WireSession,
    private readonly fixture: TorrentFixture,
    private readonly corrupt: ReadonlySet<number>,
    private readonly timers: Set<NodeJS.Timeout>,
  ) {}

  begin(): void {
    const b = this.seed.behavior;
    const s = this.session;
    s.on("message", (m: Message) => this.onMessage(m));
    s.on("close", (by: string) => {
      this.stopTimer();
      if (by === "remote") {
        this.seed.stats.closedByRemote++;
        this.seed.emit("remote-close", s);
      }
    });
    const fast = b.fast ?? true;
    const bits = new Bitfield(this.fixture.pieceCount);
    if (b.has) for (const i of b.has) bits.set(i);
    else bits.setAll();
    if (b.spareBits) {
      const bytes = Buffer.alloc(bits.toBytes().length, 0xff);
      s.send({ type: "bitfield", bits: bytes });
    } else if (b.haveAll && fast && bits.isComplete()) {
      s.send({ type: "have_all" });
    } else {
      s.send({ type: "bitfield", bits: bits.toBytes() });
    }
    if (b.haveOutOfRange) s.send({ type: "have", index: this.fixture.pieceCount });
    if (b.unrequestedBlocks) {
      for (const index of bits.indices()) {
        for (let begin = 0; begin < this.fixture.piece(index).length; begin += 16 * 1024) {
          const block = Buffer.from(this.fixture.piece(index).subarray(begin, begin + this.blockLength(index, begin)).map((x) => x ^ 0xff));
          s.sendRaw(encodeMessage({ type: "piece", index, begin, block }));
          this.seed.stats.unrequestedBlocksSent++;
        }
      }
    }
    if (b.oversizeMessage) {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(OVERSIZE_PREFIX_BYTES, 0);
      head[4] = 5;
      s.sendRaw(Buffer.concat([head, Buffer.alloc(64, 0xff)]));
    }
  }

  private onMessage(m: Message): void {
    switch (m.type) {
      case "interested":
        if (this.choking && !this.chokedForGood) {
          this.choking = false;
          this.session.send({ type: "unchoke" });
        }
        return;
      case "request":
        this.seed.stats.requests++;
        this.seed.emit("request", this.session, m);
        this.onRequest(m);
        return;
      case "cancel": {
        this.seed.stats.cancels++;
        this.seed.emit("cancel", this.session, m);
        const i = this.queue.findIndex((r) => r.index === m.index && r.begin === m.begin && r.length === m.length);
        if (i >= 0) this.queue.splice(i, 1);
        return;
      }
      default:
        return;
    }
  }

  private onRequest(r: PendingRequest): void {
    const b = this.seed.behavior;
    if (this.choking || b.stall) return;
    if (r.begin + r.length > this.fixture.piece(r.index).length) return;
    if (b.rejectRequests) {
      this.seed.stats.rejectsSent++;
      this.session.send({ type: "reject", index: r.index, begin: r.begin, length: r.length });
      return;
    }
    if (b.oversizeBlock && !this.sentOversizeBlock) {
      this.sentOversizeBlock = true;
      this.session.send({ type: "piece", index: r.index, begin: r.begin, block: Buffer.alloc(OVERSIZE_BLOCK_BYTES, 0x5a) });
      return;
    }
    if (b.misalignedBlock && !this.sentMisalignedBlock) {
      this.sentMisalignedBlock = true;
      this.sendBlock(r.index, r.begin + 1, r.length - 1);
      return;
    }
    this.queue.push(r);
    if (b.serveIntervalMs === undefined) this.drain();
    else this.schedule(b.serveIntervalMs);
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.choking && !this.session.closed) this.serve(this.queue.shift()!);
  }

  private schedule(intervalMs: number): void {
    if (this.timer || this.queue.length === 0) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.timer = undefined;
      const r = this.queue.shift();
      if (r && !this.choking && !this.session.closed) this.serve(r);
      this.schedule(intervalMs);
    }, intervalMs);
    this.timer = t;
    this.timers.add(t);
  }

  private stopTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timers.delete(this.timer);
    this.timer = undefined;
  }

  private serve(r: PendingRequest): void {
    this.sendBlock(r.index, r.begin, r.length);
    this.served++;
    if (this.served === this.seed.behavior.closeAfterBlocks) {
      this.queue.length = 0;
      this.stopTimer();
      this.session.close();
      return;
    }
    const limit = this.seed.behavior.chokeAfterBlocks;
    if (limit !== undefined && this.served >= limit) {
      this.choking = true;
      this.chokedForGood = true;
      this.queue.length = 0;
      this.stopTimer();
      this.session.send({ type: "choke" });
    }
  }

  private sendBlock(index: number, begin: number, length: number): void {
    let block = this.fixture.piece(index).subarray(begin, begin + length);
    if (this.corrupt.has(index)) {
      block = Buffer.from(block.map((x) => x ^ 0xff));
      this.seed.stats.corruptBlocksServed++;
    }
    this.seed.stats.blocksServed++;
    this.session.sendRaw(encodeMessage({ type: "piece", index, begin, block }));
    this.seed.emit("block", this.session, index, begin);
  }

  private blockLength(index: number, begin: number): number {
    return Math.min(16 * 1024, this.fixture.piece(index).length - begin);
  }
}
