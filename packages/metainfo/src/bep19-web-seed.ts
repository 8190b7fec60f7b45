import { fail } from "./fields.js";
import { fileSpansOfRange } from "./piece-layout.js";
import type { InfoDict } from "./types.js";

/**
 * One part of a byte range of the torrent as a web seed serves it: either a ranged GET of one
 * file on the mirror, or bytes of a BEP 47 pad file, which are zeros and never requested.
 */
export type WebSeedSpan =
  | {
      readonly kind: "http";
      /** The file's URL on the mirror. */
      readonly url: string;
      /** First byte of the range inside the file (the HTTP `Range: bytes=start-end` start). */
      readonly fileOffset: number;
      readonly length: number;
      /** The file's whole length: a 200 answer is acceptable only when the range is all of it. */
      readonly fileLength: number;
      /** Where these bytes go inside the requested range of the torrent. */
      readonly rangeOffset: number;
    }
  | { readonly kind: "zeros"; readonly length: number; readonly rangeOffset: number };

/**
 * The URL of one file of the torrent on a BEP 19 web seed. A single-file torrent's seed URL is
 * the file itself unless it ends in `/`, in which case the torrent's name is appended; for a
 * multi-file torrent the URL (with a `/` added when missing) names the directory holding the
 * torrent's top directory, so `<url>/<name>/<path...>`. Every appended segment is
 * percent-encoded, since names may hold spaces, `#`, `?` or `%`.
 *
 * The names are the sanitised ones (`TorrentFile.path`), which equal the torrent's own for every
 * name a mirror could serve; a name the parser had to repair (`..`, control characters, a
 * collision) maps to the repaired spelling.
 */
export function webSeedFileUrl(m: InfoDict, seedUrl: string, fileIndex: number): string {
  const file = m.files[fileIndex];
  if (file === undefined) fail("OUT_OF_RANGE", "file", `index ${fileIndex} is outside 0..${m.files.length - 1}`);
  if (!m.multiFile) return seedUrl.endsWith("/") ? seedUrl + encodeURIComponent(m.name) : seedUrl;
  const base = seedUrl.endsWith("/") ? seedUrl : `${seedUrl}/`;
  return base + [m.name, ...file.path].map(encodeURIComponent).join("/");
}

/**
 * The HTTP requests (and zero runs) that fetch `length` bytes of the torrent's byte stream from
 * `byteOffset` off one web seed, in order: a range inside one file is one request, a range that
 * straddles files one request per file, and pad files are zeros. The spans cover the range
 * exactly, back to back. Throws a MetainfoError OUT_OF_RANGE for a range outside the torrent.
 */
export function webSeedSpans(m: InfoDict, seedUrl: string, byteOffset: number, length: number): WebSeedSpan[] {
  const spans: WebSeedSpan[] = [];
  for (const s of fileSpansOfRange(m, byteOffset, length)) {
    const file = m.files[s.fileIndex]!;
    if (file.padding) {
      const last = spans[spans.length - 1];
      // Adjacent pad files (hybrid torrents) become one run of zeros.
      if (last?.kind === "zeros") spans[spans.length - 1] = { ...last, length: last.length + s.length };
      else spans.push({ kind: "zeros", length: s.length, rangeOffset: s.pieceOffset });
      continue;
    }
    spans.push({
      kind: "http",
      url: webSeedFileUrl(m, seedUrl, s.fileIndex),
      fileOffset: s.fileOffset,
      length: s.length,
      fileLength: file.length,
      rangeOffset: s.pieceOffset,
    });
  }
  return spans;
}
