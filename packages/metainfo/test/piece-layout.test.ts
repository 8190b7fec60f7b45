import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import {
  fileSpansOfPiece,
  fileSpansOfRange,
  parseMetainfo,
  pieceHash,
  pieceLengthOf,
  piecesOfFile,
} from "../src/index.js";
import type { Metainfo } from "../src/index.js";
import { concat, expectMetainfoError, MULTI_DATA, multiInfo, payload, piecesOf, sha1, torrent } from "./fixtures.js";

// MULTI_FILES: a.txt [0,10), dir/empty [10,10), dir/b.bin [10,35), c [35,42); 16-byte pieces.
const m = parseMetainfo(torrent(multiInfo()));

/** Reassembles a piece from the files' own bytes, the way the storage writer would read it. */
function readPiece(meta: Metainfo, fileData: Uint8Array[], index: number): Uint8Array {
  return concat(...fileSpansOfPiece(meta, index).map((s) => fileData[s.fileIndex]!.subarray(s.fileOffset, s.fileOffset + s.length)));
}

describe("piece layout", () => {
  it("gives piece lengths, with a short last piece", () => {
    expect([0, 1, 2].map((i) => pieceLengthOf(m, i))).toEqual([16, 16, 10]);
  });

  it("gives piece hashes as views into pieceHashes", () => {
    const h = pieceHash(m, 1);
    expect(h).toEqual(sha1(MULTI_DATA.subarray(16, 32)));
    expect(h.buffer).toBe(m.pieceHashes.buffer);
  });

  it("maps pieces to file spans, skipping empty files", () => {
    expect(fileSpansOfPiece(m, 0)).toEqual([
      { fileIndex: 0, fileOffset: 0, pieceOffset: 0, length: 10 },
      { fileIndex: 2, fileOffset: 0, pieceOffset: 10, length: 6 },
    ]);
    expect(fileSpansOfPiece(m, 1)).toEqual([{ fileIndex: 2, fileOffset: 6, pieceOffset: 0, length: 16 }]);
    expect(fileSpansOfPiece(m, 2)).toEqual([
      { fileIndex: 2, fileOffset: 22, pieceOffset: 0, length: 3 },
      { fileIndex: 3, fileOffset: 0, pieceOffset: 3, length: 7 },
    ]);
  });

  it("maps arbitrary byte ranges, with offsets relative to the range", () => {
    expect(fileSpansOfRange(m, 8, 4)).toEqual([
      { fileIndex: 0, fileOffset: 8, pieceOffset: 0, length: 2 },
      { fileIndex: 2, fileOffset: 0, pieceOffset: 2, length: 2 },
    ]);
    expect(fileSpansOfRange(m, 42, 0)).toEqual([]);
  });

  it("gives the pieces of each file; an empty file has first > last", () => {
    expect(piecesOfFile(m, 0)).toEqual({ first: 0, last: 0 });
    expect(piecesOfFile(m, 1)).toEqual({ first: 0, last: -1 });
    expect(piecesOfFile(m, 2)).toEqual({ first: 0, last: 2 });
    expect(piecesOfFile(m, 3)).toEqual({ first: 2, last: 2 });
  });

  it("includes pad file spans so the caller can skip them", () => {
    const data = [payload(10, 1), new Uint8Array(6), payload(5, 2)];
    const info = {
      files: [
        { length: 10, path: ["a"] },
        { attr: "p", length: 6, path: [".pad", "6"] },
        { length: 5, path: ["b"] },
      ],
      name: "padded",
      "piece length": 16,
      pieces: piecesOf(concat(...data), 16),
    };
    const padded = parseMetainfo(torrent(info));
    expect(fileSpansOfPiece(padded, 0).map((s) => [s.fileIndex, padded.files[s.fileIndex]!.padding])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(sha1(readPiece(padded, data, 0))).toEqual(pieceHash(padded, 0));
  });

  it("refuses out-of-range indices and ranges with OUT_OF_RANGE", () => {
    expectMetainfoError(() => pieceHash(m, 3), "OUT_OF_RANGE", "piece: index 3 is outside 0..2");
    expectMetainfoError(() => pieceLengthOf(m, -1), "OUT_OF_RANGE");
    expectMetainfoError(() => fileSpansOfPiece(m, 1.5), "OUT_OF_RANGE");
    expectMetainfoError(() => fileSpansOfRange(m, 40, 3), "OUT_OF_RANGE", "range: 3 bytes at offset 40");
    expectMetainfoError(() => fileSpansOfRange(m, -1, 1), "OUT_OF_RANGE");
    expectMetainfoError(() => piecesOfFile(m, 4), "OUT_OF_RANGE", "file: index 4 is outside 0..3");
  });

  it("for any file layout, pieces cover every file byte exactly once and hash-check", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 70 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 40 }),
        (sizes, pieceLength) => {
          fc.pre(sizes.some((s) => s > 0));
          const data = sizes.map((size, i) => payload(size, i + 1));
          const stream = concat(...data);
          const info = {
            files: sizes.map((length, i) => ({ length, path: [`f${i}`] })),
            name: "prop",
            "piece length": pieceLength,
            pieces: piecesOf(stream, pieceLength),
          };
          const meta = parseMetainfo(encode({ info }));
          let next = 0;
          for (let p = 0; p < meta.pieceCount; p++) {
            const spans = fileSpansOfPiece(meta, p);
            expect(spans.reduce((n, s) => n + s.length, 0)).toBe(pieceLengthOf(meta, p));
            for (const s of spans) {
              expect(meta.files[s.fileIndex]!.offset + s.fileOffset).toBe(next);
              expect(s.length).toBeGreaterThan(0);
              const { first, last } = piecesOfFile(meta, s.fileIndex);
              expect(p >= first && p <= last).toBe(true);
              next += s.length;
            }
            expect(sha1(readPiece(meta, data, p))).toEqual(pieceHash(meta, p));
          }
          expect(next).toBe(stream.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
