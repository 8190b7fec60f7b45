import { describe, expect, it } from "vitest";
import type { FileVerdict, VerifyReport } from "@shoal/verify";
import { describeVerification, formatVerification } from "../src/verify-output.js";

function file(number: number, path: string, over: Partial<FileVerdict> = {}): FileVerdict {
  return { fileIndex: number, number, path, length: 100, size: 100, selected: true, status: "ok", pieces: 4, badPieces: [], uncheckedPieces: [], blockedBy: [], ...over };
}

function report(files: FileVerdict[], over: Partial<VerifyReport> = {}): VerifyReport {
  const selected = files.filter((f) => f.selected);
  return {
    ok: selected.every((f) => f.status === "ok"),
    files,
    selectedFiles: selected.length,
    selectedBytes: selected.reduce((n, f) => n + f.length, 0),
    pieces: { planned: 4800, good: 4800, bad: 0, unchecked: 0 },
    ...over,
  };
}

describe("the text result of shoal verify", () => {
  it("is one line when everything matches", () => {
    const files = Array.from({ length: 12 }, (_, i) => file(i, `t/f${i}`, { length: 107_374_183 }));
    expect(formatVerification(report(files))).toBe("all 12 files match (1.2 GiB, 4800 pieces)\n");
    expect(formatVerification(report([file(0, "one.iso")], { pieces: { planned: 1, good: 1, bad: 0, unchecked: 0 } }))).toBe("all 1 file matches (100 B, 1 piece)\n");
  });

  it("says how many files were selected, and which edge pieces could not be checked", () => {
    const r = report([file(0, "t/a", { uncheckedPieces: [3], blockedBy: [1] }), file(1, "t/b", { selected: false, status: "unselected", size: null })], {
      pieces: { planned: 4, good: 3, bad: 0, unchecked: 1 },
    });
    expect(formatVerification(r)).toBe("all 1 file matches (100 B, 4 pieces; 1 of 2 files selected)\n1 piece shared with unselected files that are not there could not be checked\n");
  });

  it("lists each file that does not match, then a summary", () => {
    const r = report(
      [
        file(0, "t/a", { status: "missing", size: null }),
        file(1, "t/b", { status: "wrong-size", size: 90 }),
        file(2, "t/c", { status: "wrong-size", size: 130, badPieces: [7] }),
        file(3, "t/d", { pieces: 12, status: "bad-pieces", badPieces: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }),
        file(4, "t/e", { status: "unchecked", uncheckedPieces: [0], blockedBy: [0] }),
        file(5, "t/f"),
      ],
      { pieces: { planned: 50, good: 30, bad: 11, unchecked: 9 } },
    );
    expect(formatVerification(r).split("\n")).toEqual([
      "t/a: missing",
      "t/b: wrong size: 90 bytes, expected 100 (10 bytes short)",
      "t/c: wrong size: 130 bytes, expected 100 (30 bytes too many); 1 bad piece of 4 (piece 7)",
      "t/d: 10 bad pieces of 12 (pieces 1, 2, 3, 4, 5, 6, 7, 8 and 2 more)",
      "t/e: not fully checked: 1 piece shared with t/a, which is missing or too short",
      "4 of 6 files do not match (1 missing, 2 of the wrong size, 1 with bad pieces), 1 could not be fully checked; 11 of 50 pieces bad, 9 not checked",
      "",
    ]);
  });

  it("as JSON, numbers files as shoal info does", () => {
    const d = describeVerification(report([file(0, "t/a", { status: "missing", size: null })]), "t", "ab".repeat(20), "s3://b/p/t");
    expect(d).toMatchObject({ ok: false, name: "t", location: "s3://b/p/t", totalBytes: 100, files: [{ index: 0, path: "t/a", status: "missing", size: null }] });
    expect(Object.keys(d.files[0]!)).not.toContain("fileIndex");
  });
});
