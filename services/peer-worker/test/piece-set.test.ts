import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PieceSet } from "../src/piece-set.js";

describe("PieceSet", () => {
  it("holds the same members as a Set after any sequence of adds and deletes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(63)), { maxLength: 300 }), (ops) => {
        const set = new PieceSet(64);
        const model = new Set<number>();
        for (const [add, piece] of ops) {
          expect(add ? set.add(piece) : set.delete(piece)).toBe(add ? !model.has(piece) : model.has(piece));
          if (add) model.add(piece);
          else model.delete(piece);
        }
        expect(set.size).toBe(model.size);
        expect([...set.view()].sort((a, b) => a - b)).toEqual([...model].sort((a, b) => a - b));
        for (let i = 0; i < 64; i++) expect(set.has(i)).toBe(model.has(i));
      }),
    );
  });
});
