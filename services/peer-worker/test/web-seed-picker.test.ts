import { describe, expect, it } from "vitest";
import { pickWebSeedRun, webSeedRunBytes } from "../src/web-seed-picker.js";

const free = (taken: readonly number[]) => (i: number) => !taken.includes(i);

describe("web seed run picks", () => {
  it("continues right after its last piece while that is free", () => {
    expect(pickWebSeedRun({ pieceCount: 100, eligible: free([]), maxPieces: 4, after: 10, runPieces: 0 })).toEqual([11, 12, 13, 14]);
    // Stops at the first piece someone else has.
    expect(pickWebSeedRun({ pieceCount: 100, eligible: free([13]), maxPieces: 4, after: 10, runPieces: 0 })).toEqual([11, 12]);
  });

  it("opens in the middle of the longest free stretch, far from what connections fetch", () => {
    // Pieces 0-29 and 60 are taken: the longest stretch is 61..99 (39 pieces), its middle 80.
    const taken = [...Array.from({ length: 30 }, (_, i) => i), 60];
    expect(pickWebSeedRun({ pieceCount: 100, eligible: free(taken), maxPieces: 4, runPieces: 0 })).toEqual([80, 81, 82, 83]);
    // With claim windows of 8, on the window edge below the middle.
    expect(pickWebSeedRun({ pieceCount: 100, eligible: free(taken), maxPieces: 4, runPieces: 8 })).toEqual([80, 81, 82, 83]);
    expect(pickWebSeedRun({ pieceCount: 100, eligible: free(taken), maxPieces: 4, runPieces: 32 })).toEqual([64, 65, 66, 67]);
  });

  it("takes a short stretch from its start, and nothing when nothing is free or no memory", () => {
    expect(pickWebSeedRun({ pieceCount: 10, eligible: free([0, 1, 2, 3, 9]), maxPieces: 4, runPieces: 0 })).toEqual([4, 5, 6, 7]);
    expect(pickWebSeedRun({ pieceCount: 3, eligible: () => false, maxPieces: 4, runPieces: 0 })).toEqual([]);
    expect(pickWebSeedRun({ pieceCount: 3, eligible: () => true, maxPieces: 0, runPieces: 0 })).toEqual([]);
  });
});

describe("web seed run length", () => {
  const MiB = 1024 * 1024;
  it("takes a quarter of the maximum before the mirror was measured, then ten seconds of its rate per request", () => {
    expect(webSeedRunBytes(undefined, 4 * MiB, 256 * 1024)).toBe(1 * MiB);
    expect(webSeedRunBytes(100 * 1024, 4 * MiB, 256 * 1024)).toBe(1000 * 1024);
    expect(webSeedRunBytes(50 * MiB, 4 * MiB, 256 * 1024)).toBe(4 * MiB);
    // Never less than a piece, however slow the mirror.
    expect(webSeedRunBytes(10, 4 * MiB, 256 * 1024)).toBe(256 * 1024);
  });
});
