/**
 * The peer registry of the memory claim table, on one torrent's table: which worker owns which
 * known peer, the free peers, and each live worker's fair share of them.
 */
import { MAX_FREE_PEERS, peerShareOf, type KnownPeer, type PeerGrant, type ReleasePeersOptions } from "../ports/claim-table.js";
import type { TorrentTable } from "./torrent-table.js";

/** `ClaimTable.claimPeers` on the torrent's table; `now` is the table's clock. */
export function claimPeers(t: TorrentTable, workerId: string, peers: readonly string[], max: number, now: () => number): PeerGrant {
  const wanted: string[] = [];
  let unremembered = 0;
  for (const peer of new Set(peers)) {
    if (t.banned.has(peer)) {
      t.freePeers.delete(peer);
      continue;
    }
    wanted.push(peer);
    if (t.peerOwners.has(peer) || t.freePeers.has(peer)) continue;
    if (t.freePeers.size < MAX_FREE_PEERS) t.freePeers.add(peer);
    else unremembered++;
  }
  t.peerWorkers.add(workerId);
  // As with piece claims: taking part without a lease means a lease that has already ended.
  if (!t.leases.has(workerId)) t.leases.set(workerId, Number.NEGATIVE_INFINITY);
  const available = t.freePeers.size + unremembered;
  const known = t.peerOwners.size + available;
  const at = now();
  const isLive = (w: string) => (t.leases.get(w) ?? Number.NEGATIVE_INFINITY) > at;
  const others = [...t.peerWorkers].filter((w) => w !== workerId && isLive(w));
  const owned = t.ownedPeers.get(workerId)?.size ?? 0;
  const lacking = peersLacking(t, others, known);
  const share = peerShareOf(known, others.length + 1, owned, lacking, available);
  let room = Math.max(0, Math.min(peerLimit(max), share - owned, available - lacking));
  const granted: string[] = [];
  for (const peer of wanted) {
    const owner = t.peerOwners.get(peer);
    if (owner === workerId) granted.push(peer);
    else if (owner === undefined && room > 0) {
      own(t, peer, workerId);
      granted.push(peer);
      room--;
    }
  }
  for (const peer of [...t.freePeers]) {
    if (room <= 0) break;
    if (t.banned.has(peer)) {
      t.freePeers.delete(peer);
      continue;
    }
    own(t, peer, workerId);
    granted.push(peer);
    room--;
  }
  return { peers: granted, share, liveWorkers: others.length + 1 };
}

/** `ClaimTable.releasePeers` on the torrent's table. */
export function releasePeers(t: TorrentTable, workerId: string, peers: readonly string[], options: ReleasePeersOptions): number {
  let released = 0;
  for (const peer of peers) {
    if (t.peerOwners.get(peer) !== workerId) continue;
    disownPeer(t, peer, options.forget === true);
    released++;
  }
  return released;
}

/** `ClaimTable.knownPeers` on the torrent's table: owned peers, then free ones. */
export function knownPeers(t: TorrentTable): KnownPeer[] {
  return [...[...t.peerOwners].map(([peer, owner]) => ({ peer, owner })), ...[...t.freePeers].map((peer) => ({ peer }))];
}

/** The one place a peer loses its owner: free again (room and bans allowing), or forgotten. */
export function disownPeer(t: TorrentTable, peer: string, forget: boolean): void {
  const owner = t.peerOwners.get(peer);
  if (owner === undefined) return;
  t.peerOwners.delete(peer);
  const set = t.ownedPeers.get(owner);
  set?.delete(peer);
  if (set?.size === 0) t.ownedPeers.delete(owner);
  if (!forget && !t.banned.has(peer) && t.freePeers.size < MAX_FREE_PEERS) t.freePeers.add(peer);
}

function own(t: TorrentTable, peer: string, worker: string): void {
  t.freePeers.delete(peer);
  t.peerOwners.set(peer, worker);
  let set = t.ownedPeers.get(worker);
  if (!set) t.ownedPeers.set(worker, (set = new Set()));
  set.add(peer);
}

/** `max` of claimPeers as a count: a fraction counts as its floor, NaN and negatives as none. */
function peerLimit(max: number): number {
  return max > 0 ? Math.floor(max) : 0;
}

/** What the other live peer workers lack to reach the even split rounded down: kept free for them. */
function peersLacking(t: TorrentTable, others: readonly string[], known: number): number {
  const floorEven = Math.floor(known / (others.length + 1));
  let reserved = 0;
  for (const w of others) reserved += Math.max(0, floorEven - (t.ownedPeers.get(w)?.size ?? 0));
  return reserved;
}
