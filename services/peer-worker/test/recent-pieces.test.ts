import { describe, expect, it } from "vitest";
import { RecentPieces } from "../src/recent-pieces.js";

describe("RecentPieces", () => {
  it("keeps pieces up to its byte budget, dropping the least recently used first", () => {
    const evicted: number[] = [];
    const r = new RecentPieces(3000, (d) => evicted.push(d[0]!));
    r.put(1, new Uint8Array(1000).fill(1));
    r.put(2, new Uint8Array(1000).fill(2));
    r.put(3, new Uint8Array(1000).fill(3));
    expect(r.get(1)?.[0]).toBe(1); // piece 1 is now the most recently used
    r.put(4, new Uint8Array(1000).fill(4));
    expect(r.get(2)).toBeUndefined();
    expect(r.get(1)?.[0]).toBe(1);
    expect(r.get(3)?.[0]).toBe(3);
    expect(r.get(4)?.[0]).toBe(4);
    expect(r.size).toBe(3000);
    // The dropped piece's buffer is handed on for reuse.
    expect(evicted).toEqual([2]);
  });

  it("forgets a piece whose bytes turned out wrong, and keeps nothing with no budget", () => {
    const r = new RecentPieces(2000);
    r.put(7, new Uint8Array(1000));
    r.delete(7);
    expect(r.get(7)).toBeUndefined();
    expect(r.size).toBe(0);
    const handedOn: Uint8Array[] = [];
    const none = new RecentPieces(0, (d) => handedOn.push(d));
    none.put(1, new Uint8Array(10));
    expect(none.get(1)).toBeUndefined();
    expect(handedOn).toHaveLength(1);
  });

  it("replacing a piece counts its bytes once", () => {
    const r = new RecentPieces(1500);
    r.put(1, new Uint8Array(1000));
    r.put(1, new Uint8Array(1000));
    expect(r.size).toBe(1000);
    expect(r.get(1)).toBeDefined();
  });
});
