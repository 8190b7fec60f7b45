import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MetainfoError } from "@shoal/metainfo";
import { PIECE_OUTCOME, pieceReads, planVerification, readChunks, tallyVerdicts } from "../src/index.js";
import { fixture, type FileSpec } from "./fixtures.js";

// 16-byte pieces over: a (10) | empty (0) | b (25) | pad (5) | c (7) = 47 bytes, 3 pieces.
// piece 0: a[0..10) b[0..6)   piece 1: b[6..22)   piece 2: b[22..25) pad[0..5) c[0..7)
const SPECS: FileSpec[] = [
  { path: "a.txt", length: 10 },
  { path: "dir/empty", length: 0 },
  { path: "dir/b.bin", length: 25 },
  { path: ".pad/5", length: 5, padding: true },
  { path: "c", length: 7 },
];
const t = fixture("multi", 16, SPECS);
const FULL = t.files.map((f, i) => (SPECS[i]!.padding ? undefined : f.length));

describe("which pieces a check covers", () => {
  it("every piece when every file is selected", () => {
    const plan = planVerification(t.meta);
    expect(plan.pieces).toEqual([0, 1, 2]);
    expect(plan.selected).toEqual([true, true, true, false, true]);
  });

  it("only the pieces holding a selected file's bytes, with files numbered as `shoal info` lists them", () => {
    // Number 3 is `c` (padding is not numbered): only piece 2.
    expect(planVerification(t.meta, [3]).pieces).toEqual([2]);
    expect(planVerification(t.meta, [0]).pieces).toEqual([0]);
    expect(planVerification(t.meta, [0, 3]).pieces).toEqual([0, 2]);
  });

  it("no piece for a selected empty file, which is checked by its size alone", () => {
    const plan = planVerification(t.meta, [1]);
    expect(plan.pieces).toEqual([]);
    expect(plan.selected[1]).toBe(true);
  });

  it("refuses a file number the torrent does not have", () => {
    expect(() => planVerification(t.meta, [4])).toThrow(MetainfoError);
    expect(() => planVerification(t.meta, [4])).toThrow(/file 4 does not exist/);
  });
});

describe("which pieces can be read", () => {
  const blocked = (sizes: (number | undefined)[], select?: number[]) =>
    [...pieceReads(t.meta, planVerification(t.meta, select), sizes)].map((r) => [r.piece, r.blockedBy]);

  it("all of them when every file has its size; padding is never needed", () => {
    expect(blocked(FULL)).toEqual([[0, []], [1, []], [2, []]]);
  });

  it("a missing file blocks every piece it holds bytes of", () => {
    expect(blocked([10, 0, undefined, undefined, 7])).toEqual([[0, [2]], [1, [2]], [2, [2]]]);
  });

  it("a short file blocks only the pieces past its end", () => {
    expect(blocked([10, 0, 22, undefined, 7])).toEqual([[0, []], [1, []], [2, [2]]]);
    expect(blocked([9, 0, 25, undefined, 7])).toEqual([[0, [0]], [1, []], [2, []]]);
  });

  it("a file longer than the torrent says blocks nothing: the bytes the pieces need are there", () => {
    expect(blocked([10, 0, 25_000, undefined, 70])).toEqual([[0, []], [1, []], [2, []]]);
  });

  it("an unselected file that is not there blocks the pieces it shares with a selected one", () => {
    expect(blocked([10, 0, undefined, undefined, 7], [0])).toEqual([[0, [2]]]);
  });
});

describe("the chunks a check reads", () => {
  it("merges one file's bytes across pieces and never reads padding", () => {
    expect([...readChunks(t.meta, pieceReads(t.meta, planVerification(t.meta), FULL), 1000)]).toEqual([
      { fileIndex: 0, offset: 0, length: 10 },
      { fileIndex: 2, offset: 0, length: 25 },
      { fileIndex: 4, offset: 0, length: 7 },
    ]);
  });

  it("cuts runs into chunks of at most the chunk size and skips blocked pieces", () => {
    expect([...readChunks(t.meta, pieceReads(t.meta, planVerification(t.meta), FULL), 8)]).toEqual([
      { fileIndex: 0, offset: 0, length: 8 },
      { fileIndex: 0, offset: 8, length: 2 },
      { fileIndex: 2, offset: 0, length: 8 },
      { fileIndex: 2, offset: 8, length: 8 },
      { fileIndex: 2, offset: 16, length: 8 },
      { fileIndex: 2, offset: 24, length: 1 },
      { fileIndex: 4, offset: 0, length: 7 },
    ]);
    // b is short: piece 2 is blocked, so b's last 3 bytes and c are not read at all.
    expect([...readChunks(t.meta, pieceReads(t.meta, planVerification(t.meta), [10, 0, 22, undefined, 7]), 100)]).toEqual([
      { fileIndex: 0, offset: 0, length: 10 },
      { fileIndex: 2, offset: 0, length: 22 },
    ]);
  });

  it("yield exactly the non-padding bytes of the readable pieces, in order, for any layout", () => {
    const layout = fc.record({
      pieceLength: fc.integer({ min: 1, max: 40 }),
      files: fc.array(fc.record({ length: fc.integer({ min: 0, max: 90 }), padding: fc.boolean(), present: fc.integer({ min: -1, max: 100 }) }), { minLength: 1, maxLength: 8 }),
      chunk: fc.integer({ min: 1, max: 64 }),
      pick: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    });
    fc.assert(
      fc.property(layout, ({ pieceLength, files, chunk, pick }) => {
        const specs = files.map((f, i) => ({ path: f.padding ? `.pad/${i}` : `f${i}`, length: f.length, padding: f.padding && f.length > 0 }));
        if (specs.reduce((n, s) => n + s.length, 0) === 0 || specs.every((s) => s.padding)) return;
        const fx = fixture("p", pieceLength, specs);
        const numbered = specs.flatMap((s, i) => (s.padding ? [] : [i]));
        const select = numbered.map((_, n) => n).filter((n) => pick[n]);
        const plan = planVerification(fx.meta, select.length > 0 ? select : undefined);
        // present: -1 missing, else that percentage of the file's length.
        const sizes = files.map((f, i) => (specs[i]!.padding ? undefined : f.present < 0 ? undefined : Math.floor((f.length * f.present) / 100)));
        const expected: Buffer[] = [];
        for (const r of pieceReads(fx.meta, plan, sizes)) {
          if (r.blockedBy.length > 0) continue;
          for (const s of r.spans) if (!specs[s.fileIndex]!.padding) expected.push(fx.files[s.fileIndex]!.subarray(s.fileOffset, s.fileOffset + s.length));
        }
        const got: Buffer[] = [];
        for (const c of readChunks(fx.meta, pieceReads(fx.meta, plan, sizes), chunk)) {
          expect(c.length).toBeGreaterThan(0);
          expect(c.length).toBeLessThanOrEqual(chunk);
          expect(c.offset + c.length).toBeLessThanOrEqual(sizes[c.fileIndex]!);
          got.push(fx.files[c.fileIndex]!.subarray(c.offset, c.offset + c.length));
        }
        expect(Buffer.concat(got).equals(Buffer.concat(expected))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe("verdicts per file", () => {
  const outcomes = (bad: number[] = []) => {
    const o = new Uint8Array(t.meta.pieceCount).fill(PIECE_OUTCOME.good);
    for (const p of bad) o[p] = PIECE_OUTCOME.bad;
    return o;
  };
  const statuses = (r: ReturnType<typeof tallyVerdicts>) => r.files.map((f) => [f.path, f.status]);

  it("all ok, with sizes and piece counts, padding not listed", () => {
    const r = tallyVerdicts(t.meta, planVerification(t.meta), FULL, outcomes());
    expect(r.ok).toBe(true);
    expect(statuses(r)).toEqual([
      ["multi/a.txt", "ok"],
      ["multi/dir/empty", "ok"],
      ["multi/dir/b.bin", "ok"],
      ["multi/c", "ok"],
    ]);
    expect(r.files.map((f) => [f.number, f.pieces, f.size])).toEqual([
      [0, 1, 10],
      [1, 0, 0],
      [2, 3, 25],
      [3, 1, 7],
    ]);
    expect(r.pieces).toEqual({ planned: 3, good: 3, bad: 0, unchecked: 0 });
    expect(r.selectedFiles).toBe(4);
    expect(r.selectedBytes).toBe(42);
  });

  it("a failing piece counts against every file it holds bytes of", () => {
    const r = tallyVerdicts(t.meta, planVerification(t.meta), FULL, outcomes([0]));
    expect(r.ok).toBe(false);
    expect(statuses(r)).toEqual([
      ["multi/a.txt", "bad-pieces"],
      ["multi/dir/empty", "ok"],
      ["multi/dir/b.bin", "bad-pieces"],
      ["multi/c", "ok"],
    ]);
    expect(r.files[0]!.badPieces).toEqual([0]);
    expect(r.pieces).toEqual({ planned: 3, good: 2, bad: 1, unchecked: 0 });
  });

  it("a missing file is missing, and its neighbours are unchecked where they share its pieces", () => {
    const sizes = [10, undefined, undefined, undefined, 7];
    const o = outcomes();
    const r = tallyVerdicts(t.meta, planVerification(t.meta), sizes, o);
    expect(statuses(r)).toEqual([
      ["multi/a.txt", "unchecked"],
      ["multi/dir/empty", "missing"],
      ["multi/dir/b.bin", "missing"],
      ["multi/c", "unchecked"],
    ]);
    expect(r.files[0]!.uncheckedPieces).toEqual([0]);
    expect(r.files[0]!.blockedBy).toEqual([2]);
    expect(r.pieces.unchecked).toBe(3);
  });

  it("a short file and a long file are of the wrong size; the long one's pieces still count", () => {
    const short = tallyVerdicts(t.meta, planVerification(t.meta), [10, 0, 24, undefined, 7], outcomes());
    expect(short.files[2]).toMatchObject({ status: "wrong-size", size: 24, length: 25 });
    expect(short.files[3]).toMatchObject({ status: "unchecked", uncheckedPieces: [2], blockedBy: [2] });
    const long = tallyVerdicts(t.meta, planVerification(t.meta), [10, 0, 25, undefined, 8], outcomes());
    expect(long.files[3]).toMatchObject({ status: "wrong-size", size: 8, length: 7, badPieces: [] });
    expect(long.pieces.good).toBe(3);
    expect(long.ok).toBe(false);
  });

  it("pieces left unchecked by an unselected file that is not there do not fail the selection", () => {
    // Only a.txt is selected: piece 0 also needs b.bin's first bytes, which are not there.
    const r = tallyVerdicts(t.meta, planVerification(t.meta, [0]), [10, undefined, undefined, undefined, undefined], outcomes());
    expect(r.ok).toBe(true);
    expect(r.files[0]).toMatchObject({ status: "ok", uncheckedPieces: [0], blockedBy: [2] });
    expect(statuses(r).slice(1)).toEqual([
      ["multi/dir/empty", "unselected"],
      ["multi/dir/b.bin", "unselected"],
      ["multi/c", "unselected"],
    ]);
    expect(r.selectedFiles).toBe(1);
    expect(r.pieces).toEqual({ planned: 1, good: 0, bad: 0, unchecked: 1 });
  });
});
