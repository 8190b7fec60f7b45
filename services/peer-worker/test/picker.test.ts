import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RANDOM_FIRST_PIECES, pickPieces, type PickInput } from "../src/picker.js";
import { seededRandom } from "./seeded-random.js";

const availability = [5, 1, 3, 1, 2, 4, 2, 6, 1, 3];

function input(overrides: Partial<PickInput> = {}): PickInput {
  return {
    pieceCount: availability.length,
    peerHas: () => true,
    skip: () => false,
    availability,
    havePieces: RANDOM_FIRST_PIECES,
    max: availability.length,
    random: seededRandom(1),
    ...overrides,
  };
}

describe("pickPieces", () => {
  it("picks rarest first once it has RANDOM_FIRST_PIECES pieces", () => {
    const picked = pickPieces(input());
    expect(picked.map((i) => availability[i])).toEqual([1, 1, 1, 2, 2, 3, 3, 4, 5, 6]);
    expect(new Set(picked.slice(0, 3))).toEqual(new Set([1, 3, 8]));
  });

  it("ignores availability while it has fewer than RANDOM_FIRST_PIECES pieces", () => {
    // A random source of 0 never swaps, so the order shows what the pick sorted by.
    const noSwaps = () => 0;
    expect(pickPieces(input({ havePieces: RANDOM_FIRST_PIECES - 1, random: noSwaps }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pickPieces(input({ havePieces: RANDOM_FIRST_PIECES, random: noSwaps }))).toEqual([1, 3, 8, 4, 6, 2, 9, 5, 0, 7]);
    // Over many seeds the first random pick lands on common pieces as often as on rare ones.
    const firsts = new Set<number>();
    for (let seed = 0; seed < 200; seed++) firsts.add(pickPieces(input({ havePieces: 0, max: 1, random: seededRandom(seed) }))[0]!);
    expect(firsts.size).toBe(availability.length);
  });

  it("ranks by the cluster's counts: this worker's connections plus the other workers' peers", () => {
    // Locally every piece is as common as every other; the other workers' peers have all but 6.
    const local = new Array<number>(availability.length).fill(1);
    const others = availability.map((_, i) => (i === 6 ? 0 : 3));
    const picked = pickPieces(input({ availability: local, othersAvailability: others, random: () => 0 }));
    expect(picked[0]).toBe(6);
    // Without the others' counts the rare piece is one among ten equals.
    expect(pickPieces(input({ availability: local, random: () => 0 }))[0]).toBe(0);
    // Random first stays random: the cluster's counts are not looked at either.
    expect(pickPieces(input({ availability: local, othersAvailability: others, havePieces: 0, random: () => 0 }))[0]).toBe(0);
  });

  it("breaks ties among equally rare pieces at random", () => {
    const firsts = new Set<number>();
    for (let seed = 0; seed < 100; seed++) firsts.add(pickPieces(input({ max: 1, random: seededRandom(seed) }))[0]!);
    expect(firsts).toEqual(new Set([1, 3, 8]));
  });

  it("never picks a skipped piece or one the peer lacks", () => {
    const picked = pickPieces(input({ skip: (i) => i === 1 || i === 3, peerHas: (i) => i !== 8 && i !== 0 }));
    expect([...picked].sort((a, b) => a - b)).toEqual([2, 4, 5, 6, 7, 9]);
    expect(availability[picked[0]!]).toBe(2);
  });

  it("honours max, and max 0 or less picks nothing", () => {
    expect(pickPieces(input({ max: 4 }))).toHaveLength(4);
    expect(pickPieces(input({ max: 0 }))).toEqual([]);
    expect(pickPieces(input({ max: -1 }))).toEqual([]);
    expect(pickPieces(input({ max: 100 }))).toHaveLength(availability.length);
  });

  it("gives the same picks for the same random source", () => {
    const a = pickPieces(input({ random: seededRandom(42), havePieces: 0 }));
    const b = pickPieces(input({ random: seededRandom(42), havePieces: 0 }));
    const c = pickPieces(input({ random: seededRandom(43), havePieces: 0 }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("picks distinct allowed pieces, as many as it may, rarest first", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(8), { minLength: 1, maxLength: 60 }),
        fc.func(fc.boolean()),
        fc.func(fc.boolean()),
        fc.nat(70),
        fc.nat(2 * RANDOM_FIRST_PIECES),
        fc.integer(),
        (avail, skipFn, hasFn, max, havePieces, seed) => {
          const skip = (i: number) => skipFn(i);
          const peerHas = (i: number) => hasFn(i);
          const picked = pickPieces({ pieceCount: avail.length, peerHas, skip, availability: avail, havePieces, max, random: seededRandom(seed) });
          const allowed = avail.map((_, i) => i).filter((i) => !skip(i) && peerHas(i));
          expect(new Set(picked).size).toBe(picked.length);
          for (const i of picked) expect(allowed).toContain(i);
          expect(picked).toHaveLength(Math.min(max, allowed.length));
          if (havePieces >= RANDOM_FIRST_PIECES && picked.length > 0) {
            const ranks = picked.map((i) => avail[i]!);
            expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
            const rarestLeftOut = Math.min(...allowed.filter((i) => !picked.includes(i)).map((i) => avail[i]!));
            expect(rarestLeftOut).toBeGreaterThanOrEqual(Math.max(...ranks));
          }
        },
      ),
    );
  });
});

describe("pickPieces on very large torrents", () => {
  it("looks at a bounded window of eligible pieces, rarest first within it", () => {
    const pieceCount = 2_000_000;
    const availability = new Uint16Array(pieceCount).fill(5);
    // Rare pieces everywhere: whichever window is scanned contains some.
    for (let i = 0; i < pieceCount; i += 1000) availability[i] = 1;
    let looked = 0;
    const picked = pickPieces({
      pieceCount,
      peerHas: () => {
        looked++;
        return true;
      },
      skip: () => false,
      availability,
      havePieces: 100,
      max: 3,
      random: () => 0.5,
      window: 4096,
    });
    expect(looked).toBe(4096);
    expect(picked).toHaveLength(3);
    for (const i of picked) expect(availability[i]).toBe(1);
  });
});

describe("pickPieces over a candidate list", () => {
  it("looks only at the candidates, never at the rest of the torrent", () => {
    const pieceCount = 2_000_000;
    const availability = new Uint16Array(pieceCount).fill(3);
    availability[1_999_999] = 1;
    const looked: number[] = [];
    const picked = pickPieces({
      pieceCount,
      candidates: [17, 1_999_999, 400_000],
      peerHas: (i) => {
        looked.push(i);
        return true;
      },
      skip: () => false,
      availability,
      havePieces: 100,
      max: 2,
      random: seededRandom(3),
    });
    expect([...looked].sort((a, b) => a - b)).toEqual([17, 400_000, 1_999_999]);
    expect(picked[0]).toBe(1_999_999);
    expect(picked).toHaveLength(2);
  });

  it("windows a long candidate list from a random start, as it windows the whole torrent", () => {
    const candidates = Array.from({ length: 10_000 }, (_, k) => k * 3);
    let looked = 0;
    const picked = pickPieces({
      pieceCount: 30_000,
      candidates,
      peerHas: () => {
        looked++;
        return true;
      },
      skip: () => false,
      availability: new Uint16Array(30_000),
      havePieces: 100,
      max: 5,
      random: () => 0.5,
      window: 100,
    });
    expect(looked).toBe(100);
    for (const i of picked) expect(i % 3).toBe(0);
  });
});
