import { describe, expect, it } from "vitest";
import { PieceMarks } from "../src/piece-marks.js";

describe("PieceMarks", () => {
  it("marks pieces of its unit like a set, with one bit per piece made at the first mark", () => {
    const marks = new PieceMarks(100, 1123);
    expect(marks.bufferBytes).toBe(0);
    expect(marks.has(100)).toBe(false);
    marks.add(100);
    marks.add(1123);
    marks.add(500);
    marks.add(500);
    // 1024 pieces: 128 bytes, where a Set of them held about 24 bytes per piece.
    expect(marks.bufferBytes).toBe(128);
    expect(marks.size).toBe(3);
    expect([...marks]).toEqual([100, 500, 1123]);
    expect(marks.has(500)).toBe(true);
    expect(marks.has(501)).toBe(false);
    expect(marks.has(99)).toBe(false);
    expect(marks.has(1124)).toBe(false);
    marks.clear();
    expect(marks.size).toBe(0);
    expect(marks.bufferBytes).toBe(0);
    expect([...marks]).toEqual([]);
  });

  it("refuses a piece outside its unit", () => {
    const marks = new PieceMarks(5, 7);
    expect(() => marks.add(4)).toThrow(RangeError);
    expect(() => marks.add(8)).toThrow(RangeError);
    marks.add(7);
    expect([...marks]).toEqual([7]);
  });
});
