import type { ClaimTable, PeerGrant } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

/**
 * An owned peer with neither a connection nor a dial for this long is given back. Longer than a
 * dropped connection waits for its redial (10 s) plus a tick, so a peer we are about to dial again
 * stays ours; a worker at its connection limit never redials, and must not sit on peers others
 * could connect.
 */
export const OWNED_IDLE_MS = 20_000;

export interface PeerOwnershipDeps {
  readonly claims: ClaimTable;
  readonly infoHash: string;
  readonly workerId: string;
  readonly now: () => number;
  readonly logger: Logger;
}

/**
 * One torrent's side of the cluster's peer registry in this worker: the peers the registry says
 * are ours, our last fair share, and the releases. Calls go to the registry one at a time, in the
 * order they were made, so an answer is never overtaken by a later release (or the reverse);
 * releases made while a call is out go together in the next one, one call for the peers freed and
 * one for those forgotten.
 */
export class PeerOwnership {
  /** Peers the registry granted us that we have not released. */
  readonly owned = new Set<string>();
  /** The fair share of our last claim; undefined before the first answer. */
  share: number | undefined;
  /** The torrent's live peer workers, us included, at our last claim; undefined before the first answer. */
  liveWorkers: number | undefined;
  /** When each owned peer was last seen without a connection or a dial. */
  private readonly idleSince = new Map<string, number>();
  private readonly toFree = new Set<string>();
  private readonly toForget = new Set<string>();
  private flushQueued = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PeerOwnershipDeps) {}

  /**
   * Claims `peers` (and free unnamed ones) in one call and answers the peers that are ours now.
   * Undefined when the registry cannot be reached: the caller then dials nothing, because
   * connecting a peer another worker may own breaks the registry's one promise.
   */
  claim(peers: readonly string[], max: number): Promise<string[] | undefined> {
    return this.enqueue(async () => {
      let grant: PeerGrant;
      try {
        grant = await this.deps.claims.claimPeers(this.deps.infoHash, this.deps.workerId, peers, max);
      } catch (err) {
        this.deps.logger.warn({ err, op: "claims.claimPeers" }, "cannot claim peers; dialling none until the registry answers");
        return undefined;
      }
      // A peer released after this call was made goes back with the next call: not ours.
      const ours = grant.peers.filter((p) => !this.toFree.has(p) && !this.toForget.has(p));
      for (const p of ours) this.owned.add(p);
      // A peer we named and believed ours but were not answered is another worker's now (our
      // lease lapsed and it was taken): it is not ours to connect.
      const answered = new Set(grant.peers);
      for (const p of peers) if (!answered.has(p)) this.owned.delete(p);
      this.share = grant.share;
      this.liveWorkers = grant.liveWorkers;
      return ours;
    });
  }

  /**
   * Makes `peers` known to the registry without taking any (a claim of none): they are free for
   * whichever worker has room. What the registry answers about them is kept as a claim's is.
   */
  async register(peers: readonly string[]): Promise<void> {
    await this.claim(peers, 0);
  }

  /** Gives `peer` back: free for other workers, or forgotten (a dead, banned or incoming address). */
  release(peer: string, forget: boolean): void {
    if (!this.owned.delete(peer)) return;
    this.idleSince.delete(peer);
    (forget ? this.toForget : this.toFree).add(peer);
    if (this.flushQueued) return;
    this.flushQueued = true;
    void this.enqueue(() => this.flush());
  }

  /**
   * Releases owned peers that have had neither a connection nor a dial for OWNED_IDLE_MS;
   * `active` says whether one has.
   */
  sweepIdle(active: (peer: string) => boolean): void {
    const now = this.deps.now();
    for (const peer of [...this.owned]) {
      if (active(peer)) {
        this.idleSince.delete(peer);
        continue;
      }
      const since = this.idleSince.get(peer);
      if (since === undefined) this.idleSince.set(peer, now);
      else if (now - since >= OWNED_IDLE_MS) this.release(peer, false);
    }
  }

  /**
   * Forgets every owned peer without telling the registry (it cannot be reached): our lease is
   * lapsing, and with it the registry gives our peers to other workers.
   */
  forgetAll(): string[] {
    const was = [...this.owned];
    this.owned.clear();
    this.idleSince.clear();
    return was;
  }

  /** Owned peers with neither a connection nor a dial: the cheapest to hand over. */
  idle(active: (peer: string) => boolean): string[] {
    return [...this.owned].filter((p) => !active(p));
  }

  /** Gives every owned peer back and waits until the registry has them. */
  async releaseAll(): Promise<void> {
    for (const peer of [...this.owned]) this.release(peer, false);
    await this.settled();
  }

  /** Resolves once every call made so far has been answered (or failed). */
  async settled(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.tail) {
      seen = this.tail;
      await seen;
    }
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const free = [...this.toFree];
    const forget = [...this.toForget];
    this.toFree.clear();
    this.toForget.clear();
    const { claims, infoHash, workerId } = this.deps;
    try {
      if (free.length > 0) await claims.releasePeers(infoHash, workerId, free);
      if (forget.length > 0) await claims.releasePeers(infoHash, workerId, forget, { forget: true });
    } catch (err) {
      // They stay ours in the registry until our lease lapses; nothing else can be done.
      this.deps.logger.debug({ err, op: "claims.releasePeers" }, "peers not released");
    }
  }
}
