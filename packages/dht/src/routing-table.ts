import type { NodeInfo } from "./compact.js";
import { compareDistance, ID_BYTES, idEquals, sharedPrefixBits } from "./node-id.js";

/** BEP 5 bucket size. */
export const K = 8;
/** A node that answered within this long is good (BEP 5: 15 minutes). */
export const GOOD_FOR_MS = 15 * 60_000;
/** Queries in a row a node may fail before it is replaced (libtorrent drops at a few more). */
export const MAX_FAILURES = 2;

export interface RoutingEntry extends NodeInfo {
  /** When it last answered one of our queries; undefined: it only queried us so far. */
  lastAnswered?: number;
  lastSeen: number;
  failures: number;
}

export type InsertOutcome = "added" | "updated" | "replaced" | "pending" | "ignored";

/**
 * The routing table: one bucket of up to K nodes per length of the id prefix shared with our own
 * (0..159), each with up to K replacements waiting. That is the fully split table of BEP 5
 * without the splitting: the buckets far from us hold K nodes each as there, and the table never
 * holds more than 160 x 2K entries, whatever arrives. A node already listed keeps its address: a
 * message claiming its id from elsewhere does not move it (that would let anyone hijack an entry).
 * A full bucket takes a newcomer only in place of a node that failed MAX_FAILURES queries in a
 * row; otherwise the newcomer waits as a replacement and takes the place of the next node that
 * fails.
 */
export class RoutingTable {
  private readonly buckets: RoutingEntry[][] = Array.from({ length: ID_BYTES * 8 }, () => []);
  private readonly replacements: RoutingEntry[][] = Array.from({ length: ID_BYTES * 8 }, () => []);

  constructor(
    readonly selfId: Uint8Array,
    private readonly now: () => number,
  ) {}

  get size(): number {
    let n = 0;
    for (const b of this.buckets) n += b.length;
    return n;
  }

  /** Nodes that answered within GOOD_FOR_MS. */
  goodCount(): number {
    const t = this.now();
    let n = 0;
    for (const b of this.buckets) for (const e of b) if (e.lastAnswered !== undefined && t - e.lastAnswered < GOOD_FOR_MS && e.failures === 0) n++;
    return n;
  }

  private bucketOf(id: Uint8Array): number | undefined {
    const shared = sharedPrefixBits(this.selfId, id);
    return shared >= ID_BYTES * 8 ? undefined : shared;
  }

  /**
   * A message from `node`: `answered` when it is a response to our query (the node is reachable),
   * false when it queried us.
   */
  heard(node: NodeInfo, answered: boolean): InsertOutcome {
    const i = this.bucketOf(node.id);
    if (i === undefined) return "ignored";
    const t = this.now();
    const bucket = this.buckets[i]!;
    const known = bucket.find((e) => idEquals(e.id, node.id));
    if (known) {
      if (known.ip !== node.ip || known.port !== node.port) return "ignored";
      known.lastSeen = t;
      if (answered) {
        known.lastAnswered = t;
        known.failures = 0;
      }
      return "updated";
    }
    // One entry per address: a second id from the same ip:port is not a second node.
    if (this.findByAddress(node.ip, node.port)) return "ignored";
    const entry: RoutingEntry = { id: node.id, ip: node.ip, port: node.port, lastSeen: t, failures: 0, ...(answered ? { lastAnswered: t } : {}) };
    if (bucket.length < K) {
      bucket.push(entry);
      return "added";
    }
    const dead = bucket.findIndex((e) => e.failures >= MAX_FAILURES);
    if (dead >= 0 && answered) {
      bucket[dead] = entry;
      return "replaced";
    }
    const waiting = this.replacements[i]!;
    const at = waiting.findIndex((e) => idEquals(e.id, node.id) || (e.ip === node.ip && e.port === node.port));
    if (at >= 0) waiting.splice(at, 1);
    waiting.push(entry);
    if (waiting.length > K) waiting.shift();
    return "pending";
  }

  /** A query to the node at ip:port went unanswered. */
  failed(ip: string, port: number): void {
    const found = this.findByAddress(ip, port);
    if (!found) return;
    const [i, entry] = found;
    entry.failures++;
    if (entry.failures < MAX_FAILURES) return;
    const waiting = this.replacements[i]!;
    // The replacement that answered most lately, else the newest.
    let pick = -1;
    for (let j = waiting.length - 1; j >= 0; j--) {
      if (waiting[j]!.lastAnswered !== undefined) {
        pick = j;
        break;
      }
    }
    if (pick < 0) pick = waiting.length - 1;
    const bucket = this.buckets[i]!;
    if (pick >= 0) bucket[bucket.indexOf(entry)] = waiting.splice(pick, 1)[0]!;
    else if (entry.failures > MAX_FAILURES + 2) bucket.splice(bucket.indexOf(entry), 1);
  }

  private findByAddress(ip: string, port: number): [number, RoutingEntry] | undefined {
    for (let i = 0; i < this.buckets.length; i++) {
      for (const e of this.buckets[i]!) if (e.ip === ip && e.port === port) return [i, e];
    }
    return undefined;
  }

  /** The `n` listed nodes closest to `target`, failing ones left out. */
  closest(target: Uint8Array, n: number): RoutingEntry[] {
    const all: RoutingEntry[] = [];
    for (const b of this.buckets) for (const e of b) if (e.failures < MAX_FAILURES) all.push(e);
    all.sort((a, b) => compareDistance(target, a.id, b.id));
    return all.slice(0, n);
  }

  /** Listed nodes not heard from within GOOD_FOR_MS: the ones to ping. */
  questionable(max: number): RoutingEntry[] {
    const t = this.now();
    const out: RoutingEntry[] = [];
    for (const b of this.buckets) {
      for (const e of b) {
        if (t - (e.lastAnswered ?? -Infinity) >= GOOD_FOR_MS && out.length < max) out.push(e);
      }
    }
    return out;
  }

  /** Every listed node, for the saved state. */
  nodes(): NodeInfo[] {
    return this.buckets.flat().map((e) => ({ id: e.id, ip: e.ip, port: e.port }));
  }
}
