import { expect } from "vitest";
import { peerShareOf, type KnownPeer, type PeerGrant } from "@shoal/coordination";

/**
 * The peer registry of the ClaimTable written the plainest way, from the port's TSDoc. Which
 * unnamed free peers a claim takes is the adapter's choice (the Redis one picks at random), so
 * `claimPeers` checks the adapter's answer against what the TSDoc allows and then follows it.
 * The universe of peers in the property is far below MAX_FREE_PEERS, so the cap never binds here.
 */
export class PeerRegistryModel {
  private readonly owners = new Map<string, string>();
  private readonly free = new Set<string>();
  private readonly leases = new Map<string, number>();
  /** Workers that have called claimPeers: only their leases count as live. */
  private readonly peerWorkers = new Set<string>();
  private nowMs = 0;

  heartbeat(worker: string, ttlMs: number): void {
    this.leases.set(worker, this.nowMs + ttlMs);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }

  /** Lapsed workers lose their peers (free again) and their leases. */
  expire(): void {
    for (const [peer, owner] of [...this.owners]) {
      const until = this.leases.get(owner);
      if (until === undefined || until <= this.nowMs) {
        this.owners.delete(peer);
        this.free.add(peer);
      }
    }
    for (const w of [...this.peerWorkers]) {
      const until = this.leases.get(w);
      if (until === undefined || until <= this.nowMs) this.peerWorkers.delete(w);
    }
    for (const [worker, until] of [...this.leases]) if (until <= this.nowMs) this.leases.delete(worker);
  }

  /** Checks an adapter's answer to claimPeers against the rules, then applies it. */
  claimPeers(worker: string, peers: readonly string[], max: number, got: PeerGrant, label: string): void {
    const wanted = [...new Set(peers)];
    for (const p of wanted) if (!this.owners.has(p)) this.free.add(p);
    this.peerWorkers.add(worker);
    if (!this.leases.has(worker)) this.leases.set(worker, Number.NEGATIVE_INFINITY);
    const isLive = (w: string) => (this.leases.get(w) ?? Number.NEGATIVE_INFINITY) > this.nowMs;
    const others = [...this.peerWorkers].filter((w) => w !== worker && isLive(w));
    const known = this.owners.size + this.free.size;
    const live = others.length + 1;
    // What the others lack to reach the even split rounded down stays free for them.
    let lacking = 0;
    for (const w of others) lacking += Math.max(0, Math.floor(known / live) - this.ownedBy(w));
    const share = peerShareOf(known, live, this.ownedBy(worker), lacking, this.free.size);
    expect(got.share, `${label}: share of ${known} known over ${live} live, ${lacking} lacking`).toBe(share);
    expect(got.liveWorkers, `${label}: live peer workers`).toBe(live);

    let room = Math.max(0, Math.min(max, share - this.ownedBy(worker), this.free.size - lacking));
    const named: string[] = [];
    for (const p of wanted) {
      const owner = this.owners.get(p);
      if (owner === worker) named.push(p);
      else if (owner === undefined && room > 0) {
        this.take(p, worker);
        named.push(p);
        room--;
      }
    }
    expect(got.peers.slice(0, named.length), `${label}: the named peers it owns, in order`).toEqual(named);
    const unnamed = got.peers.slice(named.length);
    expect(unnamed.length, `${label}: unnamed free peers granted`).toBe(Math.min(room, this.free.size));
    for (const p of unnamed) {
      expect(this.free.has(p), `${label}: ${p} was free`).toBe(true);
      this.take(p, worker);
    }
  }

  releasePeers(worker: string, peers: readonly string[], forget: boolean): number {
    let released = 0;
    for (const p of peers) {
      if (this.owners.get(p) !== worker) continue;
      this.owners.delete(p);
      if (!forget) this.free.add(p);
      released++;
    }
    return released;
  }

  ownedBy(worker: string): number {
    let n = 0;
    for (const owner of this.owners.values()) if (owner === worker) n++;
    return n;
  }

  known(): KnownPeer[] {
    return sortKnown([...[...this.owners].map(([peer, owner]) => ({ peer, owner })), ...[...this.free].map((peer) => ({ peer }))]);
  }

  private take(peer: string, worker: string): void {
    this.free.delete(peer);
    this.owners.set(peer, worker);
  }
}

export function sortKnown(peers: readonly KnownPeer[]): KnownPeer[] {
  return [...peers].sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}
