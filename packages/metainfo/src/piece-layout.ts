import { fail } from "./fields.js";
import type { FileSpan, InfoDict } from "./types.js";

/** Each piece has one SHA-1 hash in `pieceHashes`. */
const SHA1_BYTES = 20;

function checkPiece(m: InfoDict, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= m.pieceCount) {
    fail("OUT_OF_RANGE", "piece", `index ${index} is outside 0..${m.pieceCount - 1}`);
  }
}

/** The expected SHA-1 of a piece: a 20-byte view into `pieceHashes`, not a copy. */
export function pieceHash(m: InfoDict, index: number): Uint8Array {
  checkPiece(m, index);
  return m.pieceHashes.subarray(index * SHA1_BYTES, (index + 1) * SHA1_BYTES);
}

/** The byte length of a piece: `pieceLength`, except the last which may be shorter. */
export function pieceLengthOf(m: InfoDict, index: number): number {
  checkPiece(m, index);
  return index === m.pieceCount - 1 ? m.lastPieceLength : m.pieceLength;
}

/** The first file whose bytes reach past `offset` (binary search: files are in stream order). */
function firstFileEndingAfter(m: InfoDict, offset: number): number {
  let lo = 0;
  let hi = m.files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const file = m.files[mid]!;
    if (file.offset + file.length > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The files covering `length` bytes of the torrent's byte stream from `byteOffset`, in order.
 * `pieceOffset` is relative to `byteOffset`. Empty files cover no bytes and never appear; pad
 * files do (their bytes are zeros, and the caller skips writing them).
 */
export function fileSpansOfRange(m: InfoDict, byteOffset: number, length: number): FileSpan[] {
  const valid = Number.isSafeInteger(byteOffset) && Number.isSafeInteger(length) && byteOffset >= 0 && length >= 0;
  if (!valid || byteOffset + length > m.totalLength) {
    fail("OUT_OF_RANGE", "range", `${length} bytes at offset ${byteOffset} is outside the torrent's ${m.totalLength} bytes`);
  }
  const spans: FileSpan[] = [];
  const end = byteOffset + length;
  let position = byteOffset;
  for (let i = firstFileEndingAfter(m, position); position < end; i++) {
    const file = m.files[i]!;
    const fileEnd = file.offset + file.length;
    if (fileEnd <= position) continue;
    const take = Math.min(end, fileEnd) - position;
    spans.push({ fileIndex: file.index, fileOffset: position - file.offset, pieceOffset: position - byteOffset, length: take });
    position += take;
  }
  return spans;
}

/** The files a piece covers, with offsets inside each file and inside the piece. */
export function fileSpansOfPiece(m: InfoDict, index: number): FileSpan[] {
  return fileSpansOfRange(m, index * m.pieceLength, pieceLengthOf(m, index));
}

/**
 * The pieces holding a file's bytes. For an empty file `first > last` (it needs no piece), with
 * `first` the piece where it would start.
 */
export function piecesOfFile(m: InfoDict, fileIndex: number): { first: number; last: number } {
  const file = m.files[fileIndex];
  if (!Number.isInteger(fileIndex) || file === undefined) {
    fail("OUT_OF_RANGE", "file", `index ${fileIndex} is outside 0..${m.files.length - 1}`);
  }
  const first = Math.floor(file.offset / m.pieceLength);
  if (file.length === 0) return { first, last: first - 1 };
  return { first, last: Math.floor((file.offset + file.length - 1) / m.pieceLength) };
}
