import type { NodeInfo, PeerEndpoint } from "./compact.js";
import { compareDistance, idEquals } from "./node-id.js";

/** Queries in flight per lookup (BEP 5 / Kademlia alpha). */
export const ALPHA = 3;
/** Closest nodes a lookup must have asked before it ends. */
export const LOOKUP_K = 8;
/** Candidates remembered per lookup; farther ones are forgotten (bounded memory per lookup). */
export const MAX_CANDIDATES = 64;
/** Queries one lookup may send at most, whatever hostile nodes keep answering with. */
export const MAX_QUERIES_PER_LOOKUP = 128;

type CandidateState = "new" | "asked" | "answered" | "failed";

interface Candidate {
  id: Uint8Array | undefined;
  readonly ip: string;
  readonly port: number;
  state: CandidateState;
  token?: Uint8Array;
}

/** A node that answered a get_peers, with the token to announce to it. */
export interface Responder extends NodeInfo {
  readonly token?: Uint8Array;
}

/**
 * One iterative lookup (find_node or get_peers) as plain state: the owner asks `next()` which
 * nodes to query, and reports each answer (`answered`) or silence (`failed`). It keeps the
 * MAX_CANDIDATES closest nodes heard of, asks the closest unasked ones ALPHA at a time, and is
 * done once the LOOKUP_K closest that are not known dead have all answered or failed (or the
 * query budget is spent). Addresses are the key: a node that names itself with a second id is
 * still one node. Start nodes without a known id (bootstrap routers) are asked first.
 */
export class Lookup {
  private readonly candidates: Candidate[] = [];
  private inFlight = 0;
  private sent = 0;

  constructor(
    readonly target: Uint8Array,
    start: readonly (NodeInfo | PeerEndpoint)[],
    private readonly selfId: Uint8Array,
  ) {
    for (const n of start) this.add("id" in n ? n.id : undefined, n.ip, n.port);
  }

  get queriesSent(): number {
    return this.sent;
  }

  private add(id: Uint8Array | undefined, ip: string, port: number): void {
    if (id !== undefined && idEquals(id, this.selfId)) return;
    if (this.candidates.some((c) => c.ip === ip && c.port === port)) return;
    this.candidates.push({ id, ip, port, state: "new" });
    this.sort();
    // Forget the farthest unasked ones; asked ones stay so that their answers are recognised.
    while (this.candidates.length > MAX_CANDIDATES) {
      let drop = -1;
      for (let i = this.candidates.length - 1; i >= 0; i--) {
        if (this.candidates[i]!.state === "new") {
          drop = i;
          break;
        }
      }
      if (drop < 0) break;
      this.candidates.splice(drop, 1);
    }
  }

  /** Unknown ids first (they must be asked to learn them), then by distance. */
  private sort(): void {
    this.candidates.sort((a, b) => {
      if (a.id === undefined || b.id === undefined) return (a.id === undefined ? 0 : 1) - (b.id === undefined ? 0 : 1);
      return compareDistance(this.target, a.id, b.id);
    });
  }

  /** The nodes to query now; each is counted in flight until `answered` or `failed`. */
  next(): PeerEndpoint[] {
    const out: PeerEndpoint[] = [];
    let rank = 0;
    for (const c of this.candidates) {
      if (this.inFlight >= ALPHA || this.sent >= MAX_QUERIES_PER_LOOKUP) break;
      if (c.state === "failed") continue;
      if (c.id !== undefined && rank++ >= LOOKUP_K) break;
      if (c.state !== "new") continue;
      c.state = "asked";
      this.inFlight++;
      this.sent++;
      out.push({ ip: c.ip, port: c.port });
    }
    return out;
  }

  private find(ip: string, port: number): Candidate | undefined {
    return this.candidates.find((c) => c.ip === ip && c.port === port && c.state === "asked");
  }

  answered(from: PeerEndpoint, id: Uint8Array, nodes: readonly NodeInfo[], token?: Uint8Array): void {
    const c = this.find(from.ip, from.port);
    if (!c) return;
    this.inFlight--;
    c.state = "answered";
    c.id = id;
    if (token !== undefined) c.token = token;
    this.sort();
    for (const n of nodes) this.add(n.id, n.ip, n.port);
  }

  failed(from: PeerEndpoint): void {
    const c = this.find(from.ip, from.port);
    if (!c) return;
    this.inFlight--;
    c.state = "failed";
  }

  /** Nothing in flight and nothing more worth asking. */
  done(): boolean {
    if (this.inFlight > 0) return false;
    if (this.sent >= MAX_QUERIES_PER_LOOKUP) return true;
    let rank = 0;
    for (const c of this.candidates) {
      if (c.state === "failed") continue;
      if (c.state === "new") return false;
      if (c.id !== undefined && ++rank >= LOOKUP_K) return true;
    }
    return true;
  }

  /** The LOOKUP_K closest nodes that answered, with their tokens. */
  closestAnswered(): Responder[] {
    return this.candidates
      .filter((c) => c.state === "answered" && c.id !== undefined)
      .slice(0, LOOKUP_K)
      .map((c) => ({ id: c.id!, ip: c.ip, port: c.port, ...(c.token ? { token: c.token } : {}) }));
  }
}
