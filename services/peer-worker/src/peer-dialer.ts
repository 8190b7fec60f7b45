import type { ClaimTable, PeerAddress } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { AddressBook, splitPeerKey } from "./address-book.js";
import type { PeerWorkerConfig } from "./config.js";
import type { PeerConnection } from "./connection.js";
import { EncryptionMemory, HandshakeFailure, dialPeer, dialWithPolicy, type Handshaken } from "@shoal/wire-net";
import { JoinSettle } from "./join-settle.js";
import { PeerOwnership } from "./peer-ownership.js";
import { choosePeersToDrop, peersOverShare } from "./rebalance.js";

/**
 * How often the registry is asked even with nothing to dial: to learn our fair share (more live
 * workers mean handing connections over), to take peers other workers gave back, and to check
 * that our connections are still ours. One small call per torrent every two seconds; a worker
 * that joins gets its first connections within about two of these.
 */
export const REGISTRY_SYNC_MS = 2_000;
/**
 * For this long after joining a torrent, the registry is asked every tick instead: workers join
 * and split the peers in these seconds, and a hand-over waits for both the giver's round and
 * the taker's.
 */
const FAST_SYNC_PHASE_MS = 20_000;
/** The periodic round while joining: every tick (1 s), with room for a timer firing early. */
const FAST_SYNC_MS = 900;
/** A peer another worker owns, or that our share had no room for, is asked for again after this. */
const NOT_GRANTED_RETRY_MS = 30_000;
/** A peer we handed to another worker is not asked for again before this. */
const HANDED_OVER_RETRY_MS = 60_000;
/** Dial candidates wait this long after the registry could not be reached. */
const REGISTRY_DOWN_RETRY_MS = 5_000;

/** What the dialer needs of the swarm. */
export interface DialerHost {
  isClosed(): boolean;
  /** The swarm's live connections by peer key. */
  readonly conns: ReadonlyMap<string, PeerConnection>;
  isBanned(key: string): boolean;
  /** A dial whose handshake named our torrent. */
  attach(handshaken: Handshaken, key: string): void;
}

export interface DialerDeps {
  readonly claims: ClaimTable;
  readonly infoHash: Uint8Array;
  readonly infoHashHex: string;
  readonly peerId: Uint8Array;
  readonly workerId: string;
  readonly now: () => number;
  readonly logger: Logger;
  /**
   * The cluster's live peer workers, this one included, as last heard; undefined when unknown.
   * The settle after joining ends once that many have registered with the torrent.
   */
  readonly expectedWorkers?: () => number | undefined;
}

interface Admission {
  readonly key: string;
  readonly resolve: (admitted: boolean) => void;
}

/**
 * Whom one torrent's swarm connects. Every dial and every accepted connection is first claimed
 * in the cluster's peer registry, in batches (one registry call in flight per torrent), so a
 * remote peer is connected by one worker of the cluster at a time and each worker keeps to its
 * fair share; over the share, the swarm hands connections over (`DialerHost.dropConnections`).
 */
export class PeerDialer {
  readonly book: AddressBook;
  readonly ownership: PeerOwnership;
  readonly connecting = new Set<string>();
  /** Per peer, whether the encrypted or the plaintext dial worked (policy `prefer`). */
  private readonly encryption = new EncryptionMemory();
  private readonly admissions: Admission[] = [];
  private inFlight = false;
  private again = false;
  private lastRoundAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly joinedAt: number;
  /** No dials until every peer worker registered, or `joinSettleMs` passed. */
  private readonly settle: JoinSettle;

  constructor(
    private readonly host: DialerHost,
    private readonly config: PeerWorkerConfig,
    private readonly deps: DialerDeps,
  ) {
    this.book = new AddressBook(deps.now);
    this.ownership = new PeerOwnership({ claims: deps.claims, infoHash: deps.infoHashHex, workerId: deps.workerId, now: deps.now, logger: deps.logger });
    this.joinedAt = deps.now();
    this.settle = new JoinSettle({
      settleMs: config.joinSettleMs,
      expectedWorkers: deps.expectedWorkers ?? (() => undefined),
      now: deps.now,
      wake: () => this.run(),
      logger: deps.logger,
    });
  }

  addPeers(peers: readonly PeerAddress[]): void {
    this.book.add(peers);
    this.run();
  }

  /**
   * Peers a connected peer told us of (PEX): into our address book like a tracker's, and the new
   * ones into the cluster's registry as free known peers at once, so that every worker with room
   * can take them (as unnamed free peers), not only this one when its own dials get to them.
   */
  learnPeers(peers: readonly PeerAddress[]): void {
    const fresh = this.book.add(peers).map((p) => `${p.ip}:${p.port}`);
    if (fresh.length > 0) void this.ownership.register(fresh);
    this.run();
  }

  /** An accepted connection from `key` (the address it came from): may we keep it? */
  admit(key: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.admissions.push({ key, resolve });
      this.run();
    });
  }

  /** A connection ended or was refused: its peer is given back unless we are going to dial it again. */
  ended(key: string, outgoing: boolean): void {
    if (!this.ownership.owned.has(key)) return;
    // An accepted connection is registered under the port it came from, which nobody can dial;
    // a peer the address book dropped (banned, a seed we no longer need, ourselves) is not dialled
    // again. Anything else stays ours until its redial, or for OWNED_IDLE_MS without one.
    if (!outgoing || !this.book.has(key)) this.ownership.release(key, true);
  }

  /** Gives `key` to whichever worker takes it, and keeps it out of our dials for a while. */
  handOver(key: string, outgoing: boolean): void {
    this.ownership.release(key, !outgoing);
    this.book.defer(key, HANDED_OVER_RETRY_MS);
  }

  tick(): void {
    this.ownership.sweepIdle((key) => this.active(key));
    this.run();
  }

  /**
   * Our lease is about to lapse (heartbeats fail): the registry will give our peers to other
   * workers, so we stop connecting them now rather than share them. Dialling resumes once the
   * registry answers again.
   */
  fence(): void {
    const lost = this.ownership.forgetAll();
    if (lost.length === 0) return;
    this.deps.logger.warn({ op: "claims.heartbeat", peers: lost.length }, "lease lapsing: dropping our peers so no other worker shares them");
    for (const key of lost) this.host.conns.get(key)?.close("our lease is lapsing");
  }

  /**
   * Starts a round with the registry, or asks for another once the one in flight is answered. A
   * complete torrent still dials: while it seeds, the peers trackers name may be leechers.
   */
  run(): void {
    if (this.closed || this.host.isClosed()) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    void this.round().catch((err: unknown) => this.deps.logger.error({ err, op: "peer-worker.dial" }, "peer round failed"));
  }

  /** Stops dialling and gives every peer back to the registry. */
  async close(): Promise<void> {
    this.closed = true;
    this.settle.close();
    for (const a of this.admissions.splice(0)) a.resolve(false);
    await this.ownership.releaseAll();
  }

  status(): Record<string, unknown> {
    return { knownPeers: this.book.size, ownedPeers: this.ownership.owned.size, peerShare: this.ownership.share ?? null };
  }

  private active(key: string): boolean {
    return this.host.conns.has(key) || this.connecting.has(key);
  }

  private async round(): Promise<void> {
    const now = this.deps.now();
    const syncMs = now - this.joinedAt < FAST_SYNC_PHASE_MS ? FAST_SYNC_MS : REGISTRY_SYNC_MS;
    // Settling after the join: the first round registers us as one of the torrent's peer
    // workers, and dialling waits until the workers that joined with us have registered too;
    // meanwhile a registration round is due every poll, to see whether they have.
    const settling = this.settle.settling(now);
    const polled = this.settle.takePoll();
    const due = polled || now - this.lastRoundAt >= syncMs;
    const admissions = this.admissions.splice(0);
    const connecting = this.connecting.size;
    // Not capped by our last share: new peers raise it. A peer the registry refuses is not asked
    // for again for NOT_GRANTED_RETRY_MS, so a worker at its share asks little.
    const room = settling ? 0 : Math.min(this.config.maxConnections - this.host.conns.size - connecting, this.config.maxHalfOpen - connecting);
    const dials = room > 0 ? this.book.take(room, (key) => this.active(key) || this.host.isBanned(key)) : [];
    if (admissions.length === 0 && dials.length === 0 && !due) return;
    // Connected peers are named on the periodic round: one not answered is no longer ours.
    const held = due ? [...this.ownership.owned].filter((key) => this.host.conns.has(key)) : [];
    const dialKeys = dials.map((a) => `${a.ip}:${a.port}`);
    const named = [...admissions.map((a) => a.key), ...dialKeys, ...held];
    this.inFlight = true;
    this.lastRoundAt = now;
    let answer: string[] | undefined;
    try {
      answer = await this.ownership.claim(named, admissions.length + Math.max(0, room));
    } finally {
      this.inFlight = false;
    }
    const ours = new Set(answer ?? []);
    const stop = this.closed || this.host.isClosed();
    if (stop) {
      const accepted = new Set(admissions.map((a) => a.key));
      for (const key of ours) this.ownership.release(key, accepted.has(key));
    }
    for (const a of admissions) a.resolve(!stop && ours.has(a.key));
    let dialled = 0;
    dials.forEach((addr, i) => {
      const key = dialKeys[i]!;
      if (!stop && ours.has(key)) {
        this.dial(addr, key);
        dialled++;
      } else {
        this.book.defer(key, answer ? NOT_GRANTED_RETRY_MS : REGISTRY_DOWN_RETRY_MS);
      }
    });
    // Every peer worker registered: round again now, to dial.
    if (settling && !stop && this.settle.registered(answer === undefined ? undefined : this.ownership.liveWorkers)) this.again = true;
    if (answer === undefined || stop) return this.next();
    for (const key of held) if (!this.ownership.owned.has(key)) this.host.conns.get(key)?.close("another worker owns this peer now");
    // Free peers we did not name: dial them while there is room, give the rest back.
    const namedSet = new Set(named);
    for (const key of answer) {
      if (namedSet.has(key)) continue;
      if (dialled >= room || this.active(key) || this.host.isBanned(key)) {
        this.ownership.release(key, false);
        continue;
      }
      const [ip, port] = splitPeerKey(key);
      this.book.markConnected(key, ip, port);
      this.dial({ ip, port }, key);
      dialled++;
    }
    this.rebalance();
    this.next();
  }

  private next(): void {
    if (!this.again) return;
    this.again = false;
    this.run();
  }

  /** Back within our share: idle peers first, then the swarm's least useful connections. */
  private rebalance(): void {
    const share = this.ownership.share;
    if (share === undefined) return;
    let excess = peersOverShare(this.ownership.owned.size, share);
    if (excess <= 0) return;
    for (const key of this.ownership.idle((k) => this.active(k))) {
      if (excess <= 0) break;
      this.handOver(key, true);
      excess--;
    }
    if (excess <= 0) return;
    const owned = [...this.host.conns.values()].filter((c) => this.ownership.owned.has(c.key));
    const candidates = owned.map((c) => ({
      key: c.key,
      outgoing: c.outgoing,
      inFlight: c.outstanding.size,
      downloadRate: c.download.rate(),
    }));
    for (const key of choosePeersToDrop(candidates, excess)) {
      const conn = this.host.conns.get(key)!;
      // Closed before it is handed over: closing schedules the usual quick redial, which the
      // hand-over then pushes back.
      conn.close("handed to another worker");
      this.handOver(key, conn.outgoing);
    }
    this.deps.logger.debug({ count: excess }, "connections handed to other workers");
  }

  private dial(addr: PeerAddress, key: string): void {
    this.connecting.add(key);
    const timeoutMs = this.config.connectTimeoutSeconds * 1000;
    dialWithPolicy(this.config.encryption, key, this.encryption, (mse) => dialPeer(addr.ip, addr.port, this.deps.infoHash, this.deps.peerId, timeoutMs, mse))
      .then((handshaken) => this.host.attach(handshaken, key))
      .catch((err: Error) => {
        this.book.failed(key);
        // Unreachable for now: no other worker need try it either until a tracker names it again.
        this.ownership.release(key, true);
        // A peer that will not speak our required encryption is worth a warning: with every peer
        // like it, the download cannot start, and this line says why.
        if (this.config.encryption === "require" && err instanceof HandshakeFailure && err.stage === "encryption") {
          this.deps.logger.warn({ peer: key, err: err.message }, "peer refused encryption (--encryption require)");
        } else {
          this.deps.logger.debug({ peer: key, err: err.message }, "dial failed");
        }
      })
      .finally(() => this.connecting.delete(key));
  }
}
