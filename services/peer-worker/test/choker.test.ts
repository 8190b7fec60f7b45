import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideUnchokes, type ChokeCandidate, type ChokeInput } from "../src/choker.js";
import { seededRandom } from "./seeded-random.js";

const peer = (id: string, downloadRate: number, uploadRate: number, interested = true): ChokeCandidate => ({
  id,
  interested,
  downloadRate,
  uploadRate,
});

// Download rates rise with the number, upload rates fall, so the two policies pick opposite ends.
const peers = [1, 2, 3, 4, 5, 6].map((n) => peer(`p${n}`, n * 100, (7 - n) * 100));

function input(overrides: Partial<ChokeInput> = {}): ChokeInput {
  return { peers, slots: 4, seeding: false, optimistic: undefined, rotate: false, random: seededRandom(7), ...overrides };
}

/** Returns the random values in order, so a case picks exactly which candidate is optimistic. */
const sequence = (...values: number[]) => () => values.shift() ?? 0;

describe("decideUnchokes", () => {
  it("gives the regular slots to the peers that send us most while leeching", () => {
    const d = decideUnchokes(input());
    expect(d.unchoke.size).toBe(4);
    for (const id of ["p6", "p5", "p4"]) expect(d.unchoke.has(id)).toBe(true);
    expect(["p1", "p2", "p3"]).toContain(d.optimistic);
    expect(d.unchoke.has(d.optimistic!)).toBe(true);
  });

  it("gives the regular slots to the peers we upload to fastest while seeding", () => {
    const d = decideUnchokes(input({ seeding: true }));
    for (const id of ["p1", "p2", "p3"]) expect(d.unchoke.has(id)).toBe(true);
    expect(["p4", "p5", "p6"]).toContain(d.optimistic);
  });

  it("never unchokes a peer that is not interested, however fast", () => {
    const withLazy = [...peers, peer("lazy", 1_000_000, 1_000_000, false)];
    for (let seed = 0; seed < 50; seed++) {
      const d = decideUnchokes(input({ peers: withLazy, random: seededRandom(seed), rotate: true }));
      expect(d.unchoke.has("lazy")).toBe(false);
    }
    const nobody = decideUnchokes(input({ peers: peers.map((p) => ({ ...p, interested: false })) }));
    expect(nobody.unchoke.size).toBe(0);
    expect(nobody.optimistic).toBeUndefined();
  });

  it("keeps the optimistic peer until asked to rotate", () => {
    const kept = decideUnchokes(input({ optimistic: "p2", random: sequence(0) }));
    expect(kept.optimistic).toBe("p2");
    // The others are p1, p2, p3 in input order; 0.9 picks the last of them.
    const rotated = decideUnchokes(input({ optimistic: "p2", rotate: true, random: sequence(0.9) }));
    expect(rotated.optimistic).toBe("p3");
    expect(rotated.unchoke.has("p2")).toBe(false);
  });

  it("picks a new optimistic peer when the old one left, lost interest or earned a regular slot", () => {
    const left = decideUnchokes(input({ optimistic: "gone", random: sequence(0) }));
    expect(left.optimistic).toBe("p1");
    const bored = decideUnchokes(input({ peers: peers.map((p) => (p.id === "p2" ? { ...p, interested: false } : p)), optimistic: "p2", random: sequence(0) }));
    expect(bored.optimistic).toBe("p1");
    const promoted = decideUnchokes(input({ optimistic: "p6", random: sequence(0.5) }));
    expect(promoted.optimistic).toBe("p2");
    expect(promoted.unchoke.size).toBe(4);
  });

  it("with one slot unchokes only the optimistic peer", () => {
    const d = decideUnchokes(input({ slots: 1, random: sequence(0) }));
    expect([...d.unchoke]).toEqual(["p1"]);
  });

  it("with no slots unchokes nobody", () => {
    expect(decideUnchokes(input({ slots: 0 })).unchoke.size).toBe(0);
  });

  it("unchokes at most `slots` interested peers, the best slots - 1 among them", () => {
    const candidate = fc.record({ interested: fc.boolean(), downloadRate: fc.nat(1000), uploadRate: fc.nat(1000) });
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 12 }), fc.integer({ min: 1, max: 8 }), fc.boolean(), fc.boolean(), fc.integer(), (cs, slots, seeding, rotate, seed) => {
        const ps = cs.map((c, i) => ({ ...c, id: `p${i}` }));
        const d = decideUnchokes({ peers: ps, slots, seeding, optimistic: ps[0]?.id, rotate, random: seededRandom(seed) });
        const interested = ps.filter((p) => p.interested);
        expect(d.unchoke.size).toBe(Math.min(slots, interested.length));
        for (const id of d.unchoke) expect(interested.some((p) => p.id === id)).toBe(true);
        // Every unchoked peer but the optimistic one scores at least as well as every choked one.
        const score = (p: ChokeCandidate) => (seeding ? p.uploadRate : p.downloadRate);
        const regular = interested.filter((p) => d.unchoke.has(p.id) && p.id !== d.optimistic);
        const choked = interested.filter((p) => !d.unchoke.has(p.id));
        if (regular.length > 0 && choked.length > 0) {
          expect(Math.min(...regular.map(score))).toBeGreaterThanOrEqual(Math.max(...choked.map(score)));
        }
      }),
    );
  });
});
