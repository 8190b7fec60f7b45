/**
 * Who we upload to (BEP 3 choking), as a pure decision.
 *
 * Tit-for-tat: while downloading, the interested peers that send us the most get the regular
 * upload slots; once complete, those we upload to fastest do (they make best use of it). One
 * extra optimistic slot rotates among the other interested peers, so newcomers get a chance to
 * prove themselves. Runs every CHOKE_INTERVAL_MS; the optimistic peer changes every
 * OPTIMISTIC_INTERVAL_MS.
 */
export const CHOKE_INTERVAL_MS = 10_000;
export const OPTIMISTIC_INTERVAL_MS = 30_000;

export interface ChokeCandidate {
  readonly id: string;
  readonly interested: boolean;
  /** Bytes per second it sends us. */
  readonly downloadRate: number;
  /** Bytes per second we send it. */
  readonly uploadRate: number;
}

export interface ChokeInput {
  readonly peers: readonly ChokeCandidate[];
  readonly slots: number;
  readonly seeding: boolean;
  /** The current optimistic peer, kept unless `rotate` is set or it left. */
  readonly optimistic: string | undefined;
  readonly rotate: boolean;
  readonly random: () => number;
}

export interface ChokeDecision {
  readonly unchoke: ReadonlySet<string>;
  readonly optimistic: string | undefined;
}

export function decideUnchokes(input: ChokeInput): ChokeDecision {
  const interested = input.peers.filter((p) => p.interested);
  const score = (p: ChokeCandidate) => (input.seeding ? p.uploadRate : p.downloadRate);
  const regular = [...interested].sort((a, b) => score(b) - score(a)).slice(0, Math.max(0, input.slots - 1));
  const unchoke = new Set(regular.map((p) => p.id));
  const others = interested.filter((p) => !unchoke.has(p.id));
  let optimistic = input.optimistic;
  if (input.slots < 1) return { unchoke, optimistic: undefined };
  if (input.rotate || !optimistic || !others.some((p) => p.id === optimistic)) {
    optimistic = others.length > 0 ? others[Math.floor(input.random() * others.length)]!.id : undefined;
  }
  if (optimistic) unchoke.add(optimistic);
  return { unchoke, optimistic };
}
