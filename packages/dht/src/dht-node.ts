import { encodeError, encodeQuery, encodeResponse, KRPC_ERROR_CODES, tryDecodeKrpc, type KrpcQuery, type KrpcResponse, type QueryArgs } from "./bep5-krpc.js";
import { isIPv4, type NodeInfo, type PeerEndpoint } from "./compact.js";
import { DhtError } from "./dht-error.js";
import { Lookup, type Responder } from "./lookup.js";
import { compareDistance, ID_BYTES, idEquals } from "./node-id.js";
import { DEFAULT_PEER_STORE_LIMITS, PeerStore, type PeerStoreLimits } from "./peer-store.js";
import { PerSourceLimiter, TokenBucket } from "./rate-limit.js";
import { K, RoutingTable } from "./routing-table.js";
import { TokenSecret } from "./token-secret.js";

export interface DhtLimits {
  /** Queries we send per second at most (lookups wait for their turn). */
  readonly maxQueriesPerSec: number;
  /** Queries answered per source IP per second, with twice as many in a burst. */
  readonly maxIncomingPerIpPerSec: number;
  /** Queries answered per second over all sources. */
  readonly maxIncomingPerSec: number;
  /** Source IPs whose rate is tracked at once (a bounded map). */
  readonly maxTrackedSources: number;
  /** Our queries waiting at once (in flight and queued); more fail at once. */
  readonly maxPendingQueries: number;
  /** How long a node has to answer a query. */
  readonly queryTimeoutMs: number;
  readonly peerStore: PeerStoreLimits;
}

/**
 * 100 queries/s out is a few KiB/s, well under what a busy libtorrent sends, and lets a lookup
 * (about 30 to 60 queries) finish in a second. 20 answers/s per IP is more than any honest node
 * sends one peer; 500/s over all bounds the CPU a flood costs. 3 s per query: loopback answers
 * in a millisecond and distant nodes in well under a second; silent ones should not hold lookups.
 */
export const DEFAULT_DHT_LIMITS: DhtLimits = Object.freeze({
  maxQueriesPerSec: 100,
  maxIncomingPerIpPerSec: 20,
  maxIncomingPerSec: 500,
  maxTrackedSources: 4096,
  maxPendingQueries: 1024,
  queryTimeoutMs: 3000,
  peerStore: DEFAULT_PEER_STORE_LIMITS,
});

/** Peers returned in one get_peers answer: keeps the datagram well under 1,500 bytes. */
const VALUES_PER_ANSWER = 50;
/** How often listed nodes not heard from lately are pinged, and a refresh lookup run. */
const PING_EVERY_MS = 60_000;
const PINGS_PER_ROUND = 8;
const REFRESH_EVERY_MS = 15 * 60_000;

export interface DhtNodeOptions {
  /** A saved id keeps our place in the DHT across runs; a fresh random one otherwise. */
  readonly id?: Uint8Array;
  /** Saved nodes: asked first, before the bootstrap routers. */
  readonly nodes?: readonly NodeInfo[];
  /** Sends one datagram; the owner owns the socket. */
  readonly send: (datagram: Uint8Array, to: PeerEndpoint) => void;
  readonly now: () => number;
  readonly random: (n: number) => Uint8Array;
  readonly limits?: Partial<DhtLimits>;
}

export interface DhtStats {
  readonly nodes: number;
  readonly goodNodes: number;
  readonly lookups: number;
  readonly queriesSent: number;
  readonly queriesReceived: number;
  readonly responsesReceived: number;
  /** Datagrams dropped: malformed, unsolicited responses, over a rate limit. */
  readonly dropped: number;
  readonly announces: number;
  readonly peersFound: number;
}

interface Pending {
  readonly to: PeerEndpoint;
  readonly datagram: Uint8Array;
  deadline: number;
  sent: boolean;
  readonly resolve: (r: KrpcResponse) => void;
  readonly reject: (e: Error) => void;
}

/**
 * A BEP 5 node without I/O of its own: the owner hands it every datagram (`receive`), sends what
 * it asks to send, and calls `tick` a few times a second for timeouts and upkeep. It answers
 * other nodes' queries, keeps the routing table and the peers announced to it, and runs
 * iterative lookups. Malformed or unsolicited datagrams are counted and dropped.
 */
export class DhtNode {
  readonly id: Uint8Array;
  private readonly table: RoutingTable;
  private readonly limits: DhtLimits;
  private readonly tokens: TokenSecret;
  private readonly store: PeerStore;
  private readonly outgoing: TokenBucket;
  private readonly incoming: TokenBucket;
  private readonly perSource: PerSourceLimiter;
  private readonly pending = new Map<string, Pending>();
  private readonly queue: string[] = [];
  private saved: NodeInfo[];
  private bootstrap: PeerEndpoint[] = [];
  private nextTid: number;
  private lastPing: number;
  private lastRefresh: number;
  private closed = false;
  private counts = { lookups: 0, queriesSent: 0, queriesReceived: 0, responsesReceived: 0, dropped: 0, announces: 0, peersFound: 0 };

  constructor(private readonly o: DhtNodeOptions) {
    this.id = o.id?.length === ID_BYTES ? Uint8Array.from(o.id) : o.random(ID_BYTES);
    this.limits = { ...DEFAULT_DHT_LIMITS, ...o.limits };
    this.table = new RoutingTable(this.id, o.now);
    this.tokens = new TokenSecret(o.random, o.now);
    this.store = new PeerStore(o.now, this.limits.peerStore);
    this.outgoing = new TokenBucket(this.limits.maxQueriesPerSec, this.limits.maxQueriesPerSec, o.now);
    this.incoming = new TokenBucket(this.limits.maxIncomingPerSec, this.limits.maxIncomingPerSec, o.now);
    this.perSource = new PerSourceLimiter(this.limits.maxIncomingPerIpPerSec, this.limits.maxIncomingPerIpPerSec * 2, this.limits.maxTrackedSources, o.now);
    this.saved = (o.nodes ?? []).filter((n) => usable(n) && !idEquals(n.id, this.id)).slice(0, 160 * K);
    const r = o.random(2);
    this.nextTid = (r[0]! << 8) | r[1]!;
    this.lastPing = o.now();
    this.lastRefresh = o.now();
  }

  /** Routers to start lookups from when the table knows too few nodes. */
  setBootstrap(nodes: readonly PeerEndpoint[]): void {
    this.bootstrap = nodes.filter(usable);
  }

  stats(): DhtStats {
    return { nodes: this.table.size, goodNodes: this.table.goodCount(), ...this.counts };
  }

  /** What to save for the next run: our id and the nodes we know. */
  state(): { readonly id: Uint8Array; readonly nodes: readonly NodeInfo[] } {
    const listed = this.table.nodes();
    return { id: this.id, nodes: listed.length > 0 ? listed : this.saved };
  }

  /** One datagram from ip:port. Never throws for anything in it. */
  receive(datagram: Uint8Array, from: PeerEndpoint): void {
    if (this.closed) return;
    const msg = tryDecodeKrpc(datagram);
    if (!msg || !usable(from)) {
      this.counts.dropped++;
      return;
    }
    if (msg.kind === "query") {
      this.answer(msg, from);
      return;
    }
    const key = Buffer.from(msg.t).toString("hex");
    const p = this.pending.get(key);
    // Only the node we asked may answer: a response from elsewhere is someone guessing.
    if (!p || !p.sent || p.to.ip !== from.ip || p.to.port !== from.port) {
      this.counts.dropped++;
      return;
    }
    this.pending.delete(key);
    if (msg.kind === "error") {
      p.reject(new DhtError("REMOTE_ERROR", `DHT node ${from.ip}:${from.port} answered error ${msg.code}: ${msg.message}`));
      return;
    }
    this.counts.responsesReceived++;
    if (!idEquals(msg.id, this.id)) this.table.heard({ id: msg.id, ip: from.ip, port: from.port }, true);
    p.resolve(msg);
  }

  private answer(q: KrpcQuery, from: PeerEndpoint): void {
    // Per source first: a flood from one address must not use up the shared allowance.
    if (!this.perSource.allow(from.ip) || !this.incoming.take()) {
      this.counts.dropped++;
      return;
    }
    this.counts.queriesReceived++;
    // BEP 43 read-only nodes do not answer queries, so they do not belong in the table.
    if (!q.readOnly && !idEquals(q.id, this.id)) this.table.heard({ id: q.id, ip: from.ip, port: from.port }, false);
    const reply = (bytes: Uint8Array) => this.o.send(bytes, from);
    switch (q.method) {
      case "ping":
        return reply(encodeResponse(q.t, this.id));
      case "find_node":
        return reply(encodeResponse(q.t, this.id, { nodes: this.table.closest(q.target, K) }));
      case "get_peers": {
        const values = this.store.get(q.infoHash, VALUES_PER_ANSWER);
        return reply(encodeResponse(q.t, this.id, { token: this.tokens.tokenFor(from.ip), nodes: this.table.closest(q.infoHash, K), values }));
      }
      case "announce_peer":
        if (!this.tokens.valid(from.ip, q.token)) return reply(encodeError(q.t, KRPC_ERROR_CODES.protocol, "bad token"));
        this.store.add(q.infoHash, { ip: from.ip, port: q.impliedPort ? from.port : q.port });
        return reply(encodeResponse(q.t, this.id));
      case "unknown":
        return reply(encodeError(q.t, KRPC_ERROR_CODES.methodUnknown, "method unknown"));
    }
  }

  /** Sends a query; resolves with the response, rejects on timeout, KRPC error or close. */
  query(to: PeerEndpoint, args: QueryArgs): Promise<KrpcResponse> {
    return new Promise<KrpcResponse>((resolve, reject) => {
      if (this.closed) return reject(new DhtError("TIMEOUT", "DHT node closed"));
      if (this.pending.size >= this.limits.maxPendingQueries) {
        return reject(new DhtError("TIMEOUT", `DHT query to ${to.ip}:${to.port} not sent: ${this.pending.size} queries already wait`));
      }
      let key: string;
      let t: Uint8Array;
      do {
        this.nextTid = (this.nextTid + 1) & 0xffff;
        t = Uint8Array.of(this.nextTid >> 8, this.nextTid & 0xff);
        key = Buffer.from(t).toString("hex");
      } while (this.pending.has(key));
      this.pending.set(key, { to, datagram: encodeQuery(t, this.id, args), deadline: Infinity, sent: false, resolve, reject });
      this.queue.push(key);
      this.flush();
    });
  }

  /** Sends queued queries as the outgoing rate allows. */
  private flush(): void {
    while (this.queue.length > 0) {
      const key = this.queue[0]!;
      const p = this.pending.get(key);
      if (!p) {
        this.queue.shift();
        continue;
      }
      if (!this.outgoing.take()) return;
      this.queue.shift();
      p.sent = true;
      p.deadline = this.o.now() + this.limits.queryTimeoutMs;
      this.counts.queriesSent++;
      try {
        this.o.send(p.datagram, p.to);
      } catch (err) {
        this.pending.delete(key);
        p.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Timeouts, queued sends, pings of silent nodes and the periodic refresh. */
  tick(): void {
    if (this.closed) return;
    const t = this.o.now();
    for (const [key, p] of this.pending) {
      if (!p.sent || p.deadline > t) continue;
      this.pending.delete(key);
      this.table.failed(p.to.ip, p.to.port);
      // A saved node from an earlier run that does not answer is gone: not asked again.
      if (this.saved.length > 0) this.saved = this.saved.filter((n) => n.ip !== p.to.ip || n.port !== p.to.port);
      p.reject(new DhtError("TIMEOUT", `DHT node ${p.to.ip}:${p.to.port} did not answer within ${this.limits.queryTimeoutMs} ms`));
    }
    this.flush();
    if (t - this.lastPing >= PING_EVERY_MS) {
      this.lastPing = t;
      for (const n of this.table.questionable(PINGS_PER_ROUND)) void this.query(n, { method: "ping" }).catch(() => undefined);
    }
    if (t - this.lastRefresh >= REFRESH_EVERY_MS) {
      this.lastRefresh = t;
      void this.findNode(this.o.random(ID_BYTES)).catch(() => undefined);
    }
  }

  private startNodes(target: Uint8Array): (NodeInfo | PeerEndpoint)[] {
    const listed: (NodeInfo | PeerEndpoint)[] = this.table.closest(target, 2 * K);
    if (listed.length >= K) return listed;
    // Few nodes known yet: the saved ones closest to the target, and the routers.
    const saved = [...this.saved].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 2 * K);
    return [...listed, ...saved, ...this.bootstrap];
  }

  /** Joins the DHT: a lookup of our own id fills the table with our neighbours. */
  async join(): Promise<number> {
    await this.findNode(this.id);
    return this.table.size;
  }

  /** An iterative find_node for `target`; resolves with the closest nodes that answered. */
  findNode(target: Uint8Array): Promise<Responder[]> {
    return this.run(new Lookup(target, this.startNodes(target), this.id), { method: "find_node", target });
  }

  /**
   * An iterative get_peers for `infoHash`: `onPeers` gets each answer's peers as they arrive;
   * resolves with the closest nodes that answered, with their announce tokens.
   */
  getPeers(infoHash: Uint8Array, onPeers: (peers: PeerEndpoint[]) => void): Promise<Responder[]> {
    this.counts.lookups++;
    return this.run(new Lookup(infoHash, this.startNodes(infoHash), this.id), { method: "get_peers", infoHash }, (values) => {
      const peers = values.filter(usable);
      this.counts.peersFound += peers.length;
      if (peers.length > 0) onPeers(peers);
    });
  }

  /**
   * Tells the nodes of a finished get_peers that we have the torrent at `port` (or at our UDP
   * source port with `impliedPort`). Resolves with how many accepted.
   */
  async announce(infoHash: Uint8Array, responders: readonly Responder[], port: number, impliedPort: boolean): Promise<number> {
    const sends = responders
      .filter((r) => r.token !== undefined)
      .map((r) => this.query(r, { method: "announce_peer", infoHash, port, impliedPort, token: r.token! }).then(() => 1, () => 0));
    const ok = (await Promise.all(sends)).reduce<number>((a, b) => a + b, 0);
    this.counts.announces += ok;
    return ok;
  }

  private run(lookup: Lookup, args: QueryArgs, onValues?: (values: PeerEndpoint[]) => void): Promise<Responder[]> {
    return new Promise((resolve) => {
      let over = false;
      const pump = () => {
        if (over) return;
        if (this.closed || lookup.done()) {
          over = true;
          resolve(lookup.closestAnswered());
          return;
        }
        for (const to of lookup.next()) {
          this.query(to, args).then(
            (r) => {
              lookup.answered(to, r.id, r.nodes.filter(usable), r.token);
              if (onValues && r.values.length > 0) onValues([...r.values]);
              pump();
            },
            () => {
              lookup.failed(to);
              pump();
            },
          );
        }
        if (lookup.done()) pump();
      };
      pump();
    });
  }

  /** Fails every query still waiting; lookups end with what they have. */
  close(): void {
    this.closed = true;
    for (const [key, p] of this.pending) {
      this.pending.delete(key);
      p.reject(new DhtError("TIMEOUT", "DHT node closed"));
    }
    this.queue.length = 0;
  }
}

/** An address we may send to: IPv4, not 0.0.0.0/8, multicast or broadcast, and a real port. */
function usable(p: PeerEndpoint): boolean {
  if (!isIPv4(p.ip) || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return false;
  const first = Number(p.ip.slice(0, p.ip.indexOf(".")));
  return first !== 0 && first < 224;
}
