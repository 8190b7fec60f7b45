import { inflateRawSync } from "node:zlib";
import type { PieceRecord } from "@shoal/coordination";
import { describe, expect, it } from "vitest";
import { CLAIMED_BY_BASE, encodePieceMap, MAX_MAP_WORKERS } from "../src/piece-map.js";

const rec = (state: PieceRecord["state"], holder?: string): PieceRecord => ({ state, attempt: state === "missing" ? 0 : 1, ...(holder ? { holder } : {}) });
const bytesOf = (data: string) => [...inflateRawSync(Buffer.from(data, "base64"))];

describe("encodePieceMap", () => {
  it("sends one byte per piece: the state code, or a claim as the holding worker's index", () => {
    const index = new Map<string, number>();
    const map = encodePieceMap(
      [rec("missing"), rec("claimed", "w-b"), rec("staged", "w-b"), rec("verified"), rec("stored"), rec("skipped"), rec("claimed", "w-a"), rec("claimed", "w-b")],
      index,
    );
    expect(bytesOf(map.data)).toEqual([0, CLAIMED_BY_BASE, 2, 3, 4, 5, CLAIMED_BY_BASE + 1, CLAIMED_BY_BASE]);
    expect(map.workers).toEqual(["w-b", "w-a"]);
    expect(map.counts).toEqual({ missing: 1, claimed: 3, staged: 1, verified: 1, stored: 1, skipped: 1 });
    expect(map.pieces).toBe(8);
  });

  it("keeps a worker's index (its colour) across updates, and new workers get new ones", () => {
    const index = new Map<string, number>();
    encodePieceMap([rec("claimed", "w-a"), rec("claimed", "w-b")], index);
    const next = encodePieceMap([rec("claimed", "w-c"), rec("claimed", "w-b"), rec("stored")], index);
    expect(bytesOf(next.data)).toEqual([CLAIMED_BY_BASE + 2, CLAIMED_BY_BASE + 1, 4]);
    expect(next.workers).toEqual(["w-a", "w-b", "w-c"]);
  });

  it("draws claims of workers past the palette's end as plain claims", () => {
    const index = new Map<string, number>(Array.from({ length: MAX_MAP_WORKERS }, (_, i) => [`w${i}`, i]));
    const map = encodePieceMap([rec("claimed", "late"), rec("claimed", "w0")], index);
    expect(bytesOf(map.data)).toEqual([1, CLAIMED_BY_BASE]);
    expect(Math.max(...bytesOf(map.data))).toBeLessThanOrEqual(255);
  });

  it("keeps a 100k-piece map small on the wire when states come in runs", () => {
    const records = Array.from({ length: 100_000 }, (_, i) => (i < 60_000 ? rec("stored") : i < 60_400 ? rec("claimed", `w${i % 4}`) : rec("missing")));
    const map = encodePieceMap(records, new Map());
    expect(bytesOf(map.data)).toHaveLength(100_000);
    expect(map.data.length).toBeLessThan(4_000);
  });
});
