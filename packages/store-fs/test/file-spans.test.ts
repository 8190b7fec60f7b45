import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LayoutFile } from "@shoal/coordination";
import { spansOfRange, type Span } from "@shoal/store-fs";

/** Files laid end to end in stream order, as metainfo builds them. */
function layout(lengths: readonly number[]): LayoutFile[] {
  let offset = 0;
  return lengths.map((length, i) => {
    const f = { path: [`f${i}`], length, offset, padding: false };
    offset += length;
    return f;
  });
}

/** The obvious answer, one byte at a time, merged into runs. */
function bruteForce(files: readonly LayoutFile[], offset: number, length: number): Span[] {
  const out: Span[] = [];
  for (let pos = offset; pos < offset + length; pos++) {
    const fileIndex = files.findIndex((f) => pos >= f.offset && pos < f.offset + f.length);
    if (fileIndex < 0) continue;
    const last = out[out.length - 1];
    if (last && last.fileIndex === fileIndex && last.rangeOffset + last.length === pos - offset) {
      out[out.length - 1] = { ...last, length: last.length + 1 };
    } else {
      out.push({ fileIndex, fileOffset: pos - files[fileIndex]!.offset, rangeOffset: pos - offset, length: 1 });
    }
  }
  return out;
}

describe("spansOfRange", () => {
  const files = layout([10, 0, 6, 20, 5]);

  it("cuts a range that crosses a file boundary into one span per file", () => {
    expect(spansOfRange(files, 8, 12)).toEqual([
      { fileIndex: 0, fileOffset: 8, rangeOffset: 0, length: 2 },
      { fileIndex: 2, fileOffset: 0, rangeOffset: 2, length: 6 },
      { fileIndex: 3, fileOffset: 0, rangeOffset: 8, length: 4 },
    ]);
  });

  it("never yields a span for a zero-length file, even one at the range's start", () => {
    expect(spansOfRange(files, 10, 3)).toEqual([{ fileIndex: 2, fileOffset: 0, rangeOffset: 0, length: 3 }]);
    const leading = layout([0, 0, 4]);
    expect(spansOfRange(leading, 0, 4)).toEqual([{ fileIndex: 2, fileOffset: 0, rangeOffset: 0, length: 4 }]);
  });

  it("stops at a range that ends exactly on a file boundary", () => {
    expect(spansOfRange(files, 0, 10)).toEqual([{ fileIndex: 0, fileOffset: 0, rangeOffset: 0, length: 10 }]);
    expect(spansOfRange(files, 16, 20)).toEqual([{ fileIndex: 3, fileOffset: 0, rangeOffset: 0, length: 20 }]);
  });

  it("returns nothing for an empty or negative length, no files, or a range past the end", () => {
    expect(spansOfRange(files, 5, 0)).toEqual([]);
    expect(spansOfRange(files, 5, -3)).toEqual([]);
    expect(spansOfRange([], 0, 10)).toEqual([]);
    expect(spansOfRange(files, 41, 10)).toEqual([]);
  });

  it("clips a range that runs past the last file", () => {
    expect(spansOfRange(files, 39, 10)).toEqual([{ fileIndex: 4, fileOffset: 3, rangeOffset: 0, length: 2 }]);
  });

  it("covers a single-file torrent", () => {
    expect(spansOfRange(layout([37]), 32, 5)).toEqual([{ fileIndex: 0, fileOffset: 32, rangeOffset: 0, length: 5 }]);
  });

  it("agrees with a byte-by-byte reference on random layouts and ranges", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.nat(40)), { minLength: 1, maxLength: 12 }),
        fc.nat(300),
        fc.nat(120),
        (lengths, rawOffset, length) => {
          const fs = layout(lengths);
          const total = lengths.reduce((a, b) => a + b, 0);
          const offset = total === 0 ? 0 : rawOffset % (total + 5);
          expect(spansOfRange(fs, offset, length)).toEqual(bruteForce(fs, offset, length));
        },
      ),
    );
  });
});
