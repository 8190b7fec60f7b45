import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PICK_WINDOW, RANDOM_FIRST_PIECES } from "../src/picker.js";
import { RUN_WALK_LIMIT, pickRuns, runPiecesFor, type RunPickInput } from "../src/run-picker.js";
import { seededRandom } from "./seeded-random.js";

const MiB = 1024 * 1024;
const K = 4;
/** Four windows of four pieces; window 2 holds the rarest piece (10), window 0 the commonest. */
const availability = [6, 6, 6, 6, 3, 4, 3, 5, 4, 5, 1, 4, 2, 3, 2, 2];
const windowOf = (i: number) => Math.floor(i / K);

function input(overrides: Partial<RunPickInput> = {}): RunPickInput {
  return {
    pieceCount: availability.length,
    peerHas: () => true,
    skip: () => false,
    eligible: () => true,
    availability,
    havePieces: RANDOM_FIRST_PIECES,
    max: availability.length,
    random: seededRandom(1),
    runPieces: K,
      runningWindows: [],
    ...overrides,
  };
}

/** The windows of `picked`, in the order they first appear. */
function windowsOf(picked: readonly number[]): number[] {
  return [...new Set(picked.map(windowOf))];
}

describe("pickRuns", () => {
  it("gives a window's pieces in index order, then the next window's", () => {
    const picked = pickRuns(input({ max: 6 }));
    const [first, second] = windowsOf(picked);
    expect(picked).toEqual([first! * K, first! * K + 1, first! * K + 2, first! * K + 3, second! * K, second! * K + 1]);
  });

  it("opens the window with the rarest piece first, whatever the rest of its pieces", () => {
    const picked = pickRuns(input());
    // Rarest pieces by window: 0 -> 6, 1 -> 3, 2 -> 1, 3 -> 2.
    expect(windowsOf(picked)).toEqual([2, 3, 1, 0]);
    expect(picked.slice(0, K)).toEqual([8, 9, 10, 11]);
    expect(picked).toHaveLength(availability.length);
  });

  it("ranks new windows by their rarest piece counted over the whole cluster", () => {
    // Here window 2 holds the rarest piece; the other workers' peers have piece 10 many times over
    // and piece 1 (window 0) nowhere, which makes window 0 the cluster's rarest.
    const others = availability.map((_, i) => (i === 10 ? 20 : i === 1 ? 0 : 5));
    const picked = pickRuns(input({ othersAvailability: others, max: K }));
    expect(picked).toEqual([0, 1, 2, 3]);
    // Cluster-wide minima by window: 0 -> 6, 1 -> 8, 2 -> 9, 3 -> 7.
    expect(windowsOf(pickRuns(input({ othersAvailability: others })))).toEqual([0, 3, 1, 2]);
  });

  it("breaks ties among equally rare windows at random", () => {
    const avail = [4, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 1, 1, 4, 4, 4];
    const firsts = new Set<number>();
    for (let seed = 0; seed < 100; seed++) firsts.add(windowOf(pickRuns(input({ availability: avail, max: 1, random: seededRandom(seed) }))[0]!));
    expect(firsts).toEqual(new Set([0, 2, 3]));
  });

  it("opens windows at random, ignoring availability, while it has fewer than RANDOM_FIRST_PIECES pieces", () => {
    const firsts = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const picked = pickRuns(input({ havePieces: RANDOM_FIRST_PIECES - 1, max: K, random: seededRandom(seed) }));
      // Still a whole window in index order.
      const w = windowOf(picked[0]!);
      expect(picked).toEqual([w * K, w * K + 1, w * K + 2, w * K + 3]);
      firsts.add(w);
    }
    expect(firsts).toEqual(new Set([0, 1, 2, 3]));
  });

  it("finishes the windows it has started before it opens another, even a rarer one", () => {
    // Window 0 is the commonest; its first two pieces are in progress here, so no longer eligible.
    const eligible = (i: number) => i !== 0 && i !== 1;
    const picked = pickRuns(input({ eligible, runningWindows: [0], max: 4 }));
    expect(picked).toEqual([2, 3, 8, 9]);
  });

  it("then finishes windows begun elsewhere (a piece stored) before it opens a new one", () => {
    // Window 1 has piece 4 stored (by any worker); window 0 has pieces in progress here.
    const eligible = (i: number) => i !== 0 && i !== 4;
    expect(pickRuns(input({ eligible, runningWindows: [0], startedWindows: [1], max: 7 }))).toEqual([1, 2, 3, 5, 6, 7, 8]);
    // Several begun windows: one is taken at random, each whole before the next.
    const firsts = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const picked = pickRuns(input({ startedWindows: [0, 1, 3], max: 8, random: seededRandom(seed) }));
      expect(windowsOf(picked)).toHaveLength(2);
      expect(picked).toEqual(windowsOf(picked).flatMap((w) => [w * K, w * K + 1, w * K + 2, w * K + 3]));
      firsts.add(windowOf(picked[0]!));
    }
    expect(firsts).toEqual(new Set([0, 1, 3]));
  });

  it("continues next to begun or finished windows before it opens one elsewhere, however rare", () => {
    // Window 0 was finished; window 1 next to it is commoner than windows 2 and 3.
    const eligible = (i: number) => windowOf(i) !== 0;
    expect(pickRuns(input({ eligible, startedWindows: [], adjacentWindows: [1], max: 6 }))).toEqual([4, 5, 6, 7, 8, 9]);
    // Begun windows still come first.
    expect(pickRuns(input({ eligible, startedWindows: [3], adjacentWindows: [1], max: 6 }))).toEqual([12, 13, 14, 15, 4, 5]);
  });

  it("opens a new window when what is left of the started ones has no source here", () => {
    const eligible = (i: number) => i !== 0 && i !== 1;
    const peerHas = (i: number) => i !== 2 && i !== 3;
    expect(pickRuns(input({ eligible, peerHas, runningWindows: [0], max: 2 }))).toEqual([8, 9]);
  });

  it("takes what is left of a partial window, then moves on", () => {
    // Window 2 lost pieces 8 and 9 (stored, or claimed elsewhere); 10 is still the rarest piece.
    const eligible = (i: number) => i !== 8 && i !== 9;
    expect(pickRuns(input({ eligible, max: 4 }))).toEqual([10, 11, 12, 13]);
  });

  it("leaves out the pieces of a window that no connection has, and never opens a window for pieces it cannot serve", () => {
    // The peer lacks 9 and 11 of window 2, and all of window 3.
    const peerHas = (i: number) => i !== 9 && i !== 11 && windowOf(i) !== 3;
    const picked = pickRuns(input({ peerHas }));
    expect(picked).toEqual([8, 10, 4, 5, 6, 7, 0, 1, 2, 3]);
  });

  it("stops at max: a run is given only partly when the budget is short", () => {
    expect(pickRuns(input({ max: 3 }))).toEqual([8, 9, 10]);
    expect(pickRuns(input({ max: 0 }))).toEqual([]);
    expect(pickRuns(input({ max: -1 }))).toEqual([]);
  });

  it("picks distinct allowed pieces, started windows first, each window whole and in index order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(8), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        fc.func(fc.boolean()),
        fc.func(fc.boolean()),
        fc.func(fc.boolean()),
        fc.array(fc.nat(12), { maxLength: 3 }),
        fc.array(fc.nat(12), { maxLength: 3 }),
        fc.array(fc.nat(12), { maxLength: 3 }),
        fc.nat(70),
        fc.nat(2 * RANDOM_FIRST_PIECES),
        fc.integer(),
        (avail, runPieces, eligibleFn, skipFn, hasFn, open, begun, adjacent, max, havePieces, seed) => {
          const eligible = (i: number) => eligibleFn(i);
          const skip = (i: number) => skipFn(i);
          const peerHas = (i: number) => hasFn(i);
          const picked = pickRuns({
            pieceCount: avail.length,
            eligible,
            skip,
            peerHas,
            availability: avail,
            havePieces,
            max,
            random: seededRandom(seed),
            runPieces,
            runningWindows: open,
            startedWindows: begun,
            adjacentWindows: adjacent,
          });
          const allowed = avail.map((_, i) => i).filter((i) => eligible(i) && !skip(i) && peerHas(i));
          expect(new Set(picked).size).toBe(picked.length);
          for (const i of picked) expect(allowed).toContain(i);
          expect(picked).toHaveLength(Math.min(max, allowed.length));
          const w = (i: number) => Math.floor(i / runPieces);
          const order = [...new Set(picked.map(w))];
          // Every allowed piece of a window is given, in index order, before the next window.
          const expected = order.flatMap((x) => allowed.filter((i) => w(i) === x)).slice(0, picked.length);
          expect(picked).toEqual(expected);
          // Windows in progress here come first, then begun ones, then adjacent ones, then new.
          const tier = (x: number) => (open.includes(x) ? 0 : begun.includes(x) ? 1 : adjacent.includes(x) ? 2 : 3);
          const tiers = order.map(tier);
          expect(tiers).toEqual([...tiers].sort((a, b) => a - b));
          if (havePieces >= RANDOM_FIRST_PIECES && tiers.every((t) => t === 3) && picked.length > 0) {
            // Windows come rarest first by their rarest allowed piece.
            const rarestOf = (x: number) => Math.min(...allowed.filter((i) => w(i) === x).map((i) => avail[i]!));
            const ranks = order.map(rarestOf);
            expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
          }
        },
      ),
    );
  });

  it("bounds the work of a pick through sparse windows on a huge torrent", () => {
    const pieceCount = 2_000_000;
    const runPieces = 1024;
    // One eligible piece every 1000: each window has one or two, all equally common.
    const eligibleSet = new Set(Array.from({ length: pieceCount / 1000 }, (_, j) => j * 1000));
    const candidates = [...eligibleSet];
    let looked = 0;
    const picked = pickRuns({
      pieceCount,
      candidates,
      eligible: (i) => {
        looked++;
        return eligibleSet.has(i);
      },
      skip: () => false,
      peerHas: () => true,
      availability: new Uint16Array(pieceCount).fill(3),
      havePieces: 100,
      max: 1_000,
      random: seededRandom(9),
      runPieces,
      runningWindows: [],
    });
    expect(picked.length).toBeGreaterThan(0);
    expect(looked).toBeLessThanOrEqual(candidates.length + RUN_WALK_LIMIT + runPieces);
    expect(looked).toBeLessThanOrEqual(PICK_WINDOW + RUN_WALK_LIMIT + runPieces);
  });
});

describe("runPiecesFor", () => {
  it("rounds the run to whole pieces, at least one, and 0 turns runs off", () => {
    expect(runPiecesFor(16 * MiB, 256 * 1024)).toBe(64);
    expect(runPiecesFor(16 * MiB, 3 * MiB)).toBe(5);
    expect(runPiecesFor(16 * MiB, 32 * MiB)).toBe(1);
    expect(runPiecesFor(0, 256 * 1024)).toBe(0);
  });
});
