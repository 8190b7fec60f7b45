/**
 * Which pieces to claim next, as plain data in and out (no sockets, no claim table).
 *
 * Policy (as in libtorrent and BEP 3's advice): the first few pieces are picked at random, so a
 * new downloader gets complete pieces to trade quickly; after that, rarest first among the pieces
 * the connection can serve, random among equals so workers and peers spread out. Finishing
 * partial pieces first is the block scheduler's job, not this function's.
 */
export interface PickInput {
  readonly pieceCount: number;
  /**
   * The pieces that may be picked, when the caller keeps that set (its eligible pieces): a pick
   * then costs their number instead of `pieceCount`. Every piece when absent.
   */
  readonly candidates?: ArrayLike<number>;
  /** Whether the connection we pick for has the piece. */
  readonly peerHas: (piece: number) => boolean;
  /** True for pieces that must not be picked (stored, active here, known claimed elsewhere). */
  readonly skip: (piece: number) => boolean;
  /** How many connected peers have each piece. */
  readonly availability: ArrayLike<number>;
  /**
   * How many peers connected to the cluster's other workers have each piece (their published
   * counts, summed), added to `availability`: rarest first across the cluster, not per worker.
   * None when absent (one worker, or the cluster's counts are turned off).
   */
  readonly othersAvailability?: ArrayLike<number>;
  /** Pieces we already have; below RANDOM_FIRST_PIECES the pick is random. */
  readonly havePieces: number;
  readonly max: number;
  readonly random: () => number;
  /**
   * Eligible pieces looked at, from a random starting point: rarest first within that window.
   * Bounds the cost of a pick on torrents with hundreds of thousands of pieces; torrents with
   * fewer eligible pieces get exact rarest first.
   */
  readonly window?: number;
}

/** Eligible pieces considered per pick by default. */
export const PICK_WINDOW = 4096;

/** Pieces picked at random before switching to rarest first. */
export const RANDOM_FIRST_PIECES = 4;

export function pickPieces(input: PickInput): number[] {
  const { pieceCount, peerHas, skip, max, random } = input;
  if (max <= 0) return [];
  // Collect candidates grouped by availability in one pass; only the rarest groups are sorted.
  const byAvail = new Map<number, number[]>();
  const window = input.window ?? PICK_WINDOW;
  const candidates = input.candidates;
  const n = candidates ? candidates.length : pieceCount;
  const start = n > window ? Math.floor(random() * n) : 0;
  let seen = 0;
  for (let k = 0; k < n && seen < window; k++) {
    const at = start + k < n ? start + k : start + k - n;
    const i = candidates ? candidates[at]! : at;
    if (skip(i) || !peerHas(i)) continue;
    seen++;
    const a = input.havePieces < RANDOM_FIRST_PIECES ? 0 : availabilityOf(input, i);
    let group = byAvail.get(a);
    if (!group) byAvail.set(a, (group = []));
    group.push(i);
  }
  const out: number[] = [];
  for (const a of [...byAvail.keys()].sort((x, y) => x - y)) {
    const group = byAvail.get(a)!;
    // Partial Fisher-Yates: only as many draws as we still need.
    for (let k = 0; k < group.length && out.length < max; k++) {
      const j = k + Math.floor(random() * (group.length - k));
      [group[k], group[j]] = [group[j]!, group[k]!];
      out.push(group[k]!);
    }
    if (out.length >= max) break;
  }
  return out;
}

/** Peers in the cluster that have `piece`: ours, plus the other workers' when known. */
export function availabilityOf(input: Pick<PickInput, "availability" | "othersAvailability">, piece: number): number {
  return (input.availability[piece] ?? 0) + (input.othersAvailability?.[piece] ?? 0);
}
