import type { LayoutFile } from "@shoal/coordination";

export interface Span {
  readonly fileIndex: number;
  readonly fileOffset: number;
  /** Offset within the requested range. */
  readonly rangeOffset: number;
  readonly length: number;
}

/** The pieces of files that the byte range [offset, offset+length) of the torrent covers, in order. */
export function spansOfRange(files: readonly LayoutFile[], offset: number, length: number): Span[] {
  const out: Span[] = [];
  if (length <= 0) return out;
  // Binary search for the last file starting at or before `offset` (files are in stream order).
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (files[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  const end = offset + length;
  for (let i = lo; i < files.length; i++) {
    const f = files[i]!;
    if (f.offset >= end) break;
    const from = Math.max(offset, f.offset);
    const to = Math.min(end, f.offset + f.length);
    if (to > from) out.push({ fileIndex: i, fileOffset: from - f.offset, rangeOffset: from - offset, length: to - from });
  }
  return out;
}
