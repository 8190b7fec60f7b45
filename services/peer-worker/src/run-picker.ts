import { PICK_WINDOW, RANDOM_FIRST_PIECES, availabilityOf, type PickInput } from "./picker.js";

/**
 * Which pieces to claim next when claims come in runs of consecutive pieces, as plain data in and
 * out (no sockets, no claim table).
 *
 * The torrent's pieces are cut into aligned windows of `runPieces` pieces: window w holds pieces
 * [w * runPieces, (w + 1) * runPieces). What is started is finished first: windows this worker
 * has pieces in progress in, lowest first, then other windows begun by anyone (some piece stored),
 * from a random one on; then windows next to begun or finished ones, from a random one on. Only
 * then is a window opened elsewhere, by its rarest piece that a connection can serve (rarest
 * first as `pickPieces`, counting the other workers' peers too, random among equals, and random
 * for the first pieces). Each window gives its pickable pieces in index order. A store that
 * assembles a part only once all its pieces arrived then holds few parts open at once, instead of
 * nearly all of them when pieces come from all over the torrent (see `RunWindows` on parts that
 * do not line up with windows).
 */
export interface RunPickInput extends PickInput {
  /** Pieces per window; at least 1. */
  readonly runPieces: number;
  /**
   * Whether the piece may be picked at all (not stored, not in progress here, not known to be
   * claimed elsewhere): a window's pieces are looked up through it. Agrees with `candidates`.
   */
  readonly eligible: (piece: number) => boolean;
  /** Windows with pieces in progress here (claimed or staged, not stored yet). */
  readonly runningWindows: Iterable<number>;
  /** Other windows begun and not finished: some piece stored, some still to claim. */
  readonly startedWindows?: ArrayLike<number>;
  /** Windows not begun, with pieces to claim, next to a begun or finished window. */
  readonly adjacentWindows?: ArrayLike<number>;
}

/**
 * Pieces looked at while walking windows. A window is walked whole (`runPieces` membership
 * checks) even when few of its pieces are left or none can be served here; this bounds the work
 * of a pick through such windows, as `PICK_WINDOW` bounds the scan for the rarest pieces. Past
 * it, begun and adjacent windows are left for the next pick, and new windows are walked only
 * until the pick has found something: every window the scan ranks has a piece to give, so a pick
 * comes back empty only when the scan found nothing a connection can serve.
 */
export const RUN_WALK_LIMIT = 4 * PICK_WINDOW;

/** Pieces per window for a run of `runBytes`: whole pieces, at least one; 0 turns runs off. */
export function runPiecesFor(runBytes: number, pieceLength: number): number {
  if (runBytes <= 0) return 0;
  return Math.max(1, Math.round(runBytes / pieceLength));
}

export function pickRuns(input: RunPickInput): number[] {
  const { pieceCount, runPieces, max, random } = input;
  if (max <= 0) return [];
  const k = Math.max(1, Math.floor(runPieces));
  const pickable = (i: number) => input.eligible(i) && !input.skip(i) && input.peerHas(i);
  const out: number[] = [];
  const walked = new Set<number>();
  let looked = 0;
  const enough = () => out.length >= max || (out.length > 0 && looked >= RUN_WALK_LIMIT);
  const walk = (w: number) => {
    walked.add(w);
    const end = Math.min(pieceCount, (w + 1) * k);
    for (let i = w * k; i < end && out.length < max; i++) {
      looked++;
      if (pickable(i)) out.push(i);
    }
  };

  // Finish what is started: a window left half done keeps a part open in the store.
  const full = () => out.length >= max || looked >= RUN_WALK_LIMIT;
  for (const w of [...new Set(input.runningWindows)].sort((a, b) => a - b)) {
    if (full()) break;
    walk(w);
  }
  // Then continue next to what is done: a part straddling a window boundary closes.
  for (const windows of [input.startedWindows, input.adjacentWindows]) {
    if (!windows || windows.length === 0) continue;
    const from = Math.floor(random() * windows.length);
    for (let j = 0; j < windows.length && !full(); j++) {
      const w = windows[(from + j) % windows.length]!;
      if (!walked.has(w)) walk(w);
    }
  }
  if (enough()) return out;

  // Rank the other windows by their rarest pickable piece, in one bounded pass as `pickPieces`.
  const rarest = new Map<number, number>();
  const scan = input.window ?? PICK_WINDOW;
  const candidates = input.candidates;
  const n = candidates ? candidates.length : pieceCount;
  const start = n > scan ? Math.floor(random() * n) : 0;
  const randomFirst = input.havePieces < RANDOM_FIRST_PIECES;
  let seen = 0;
  for (let j = 0; j < n && seen < scan; j++) {
    const at = start + j < n ? start + j : start + j - n;
    const i = candidates ? candidates[at]! : at;
    const w = Math.floor(i / k);
    if (walked.has(w) || !pickable(i)) continue;
    seen++;
    const a = randomFirst ? 0 : availabilityOf(input, i);
    const known = rarest.get(w);
    if (known === undefined || a < known) rarest.set(w, a);
  }
  const byAvail = new Map<number, number[]>();
  for (const [w, a] of rarest) {
    let group = byAvail.get(a);
    if (!group) byAvail.set(a, (group = []));
    group.push(w);
  }
  for (const a of [...byAvail.keys()].sort((x, y) => x - y)) {
    const group = byAvail.get(a)!;
    // Partial Fisher-Yates: only as many draws as windows walked.
    for (let j = 0; j < group.length; j++) {
      if (enough()) return out;
      const r = j + Math.floor(random() * (group.length - j));
      [group[j], group[r]] = [group[r]!, group[j]!];
      walk(group[j]!);
    }
  }
  return out;
}
