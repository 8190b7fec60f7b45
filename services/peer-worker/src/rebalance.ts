import { PEER_SHARE_SLACK_DIVISOR } from "@shoal/coordination";

/** What the choice of connections to hand over looks at. */
export interface RebalanceCandidate {
  readonly key: string;
  /** Dialled by us: another worker can dial the same address. An accepted one's address is the peer's outgoing port, which nobody can dial. */
  readonly outgoing: boolean;
  /** Blocks requested and not yet received: closing loses them and they are asked again elsewhere. */
  readonly inFlight: number;
  readonly downloadRate: number;
}

/**
 * How many peers a worker that owns `owned` should give up, given its fair share: none while it
 * is within the share plus a margin of a tenth of it (PEER_SHARE_SLACK_DIVISOR, as the share's
 * own slack), else down to the share. The margin keeps a worker from dropping a working
 * connection each time the share moves by one (a dead peer forgotten, an incoming connection
 * ended); a worker that joins moves the share by far more than that.
 */
export function peersOverShare(owned: number, share: number): number {
  return owned > share + Math.floor(share / PEER_SHARE_SLACK_DIVISOR) ? owned - share : 0;
}

/**
 * The `count` connections least worth keeping, to hand to other workers: dialled ones before
 * accepted ones (a dialled address is one another worker can connect), then those with no blocks
 * in flight (nothing is lost), then the slowest.
 */
export function choosePeersToDrop(candidates: readonly RebalanceCandidate[], count: number): string[] {
  if (count <= 0) return [];
  return [...candidates]
    .sort(
      (a, b) =>
        Number(b.outgoing) - Number(a.outgoing) ||
        Number(a.inFlight > 0) - Number(b.inFlight > 0) ||
        a.downloadRate - b.downloadRate ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    )
    .slice(0, count)
    .map((c) => c.key);
}
