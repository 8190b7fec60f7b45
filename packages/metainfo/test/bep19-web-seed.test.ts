import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseMetainfo, pieceLengthOf, webSeedFileUrl, webSeedSpans, MAX_WEB_SEEDS } from "../src/index.js";
import type { InfoDict } from "../src/index.js";
import { concat, expectMetainfoError, multiInfo, payload, piecesOf, singleInfo, torrent } from "./fixtures.js";

const SEED = "http://mirror.test/pub/";

/** A multi-file torrent over files of the given lengths (pad files marked), and its byte stream. */
function multiTorrent(files: readonly { length: number; padding: boolean }[], pieceLength: number): { m: InfoDict; data: Uint8Array; fileData: Uint8Array[] } {
  const fileData = files.map((f, i) => (f.padding ? new Uint8Array(f.length) : payload(f.length, i + 3)));
  const data = concat(...fileData);
  const info = {
    files: files.map((f, i) => (f.padding ? { attr: "p", length: f.length, path: [".pad", String(f.length)] } : { length: f.length, path: ["d", `file ${i}#.bin`] })),
    name: "set",
    "piece length": pieceLength,
    pieces: piecesOf(data, pieceLength),
  };
  return { m: parseMetainfo(torrent(info)), data, fileData };
}

describe("web seed URLs (BEP 19)", () => {
  it("uses a single-file seed URL as is, and appends the name to one ending in /", () => {
    const m = parseMetainfo(torrent(singleInfo({ name: "my file.bin" })));
    expect(webSeedFileUrl(m, "http://h/x/data.bin", 0)).toBe("http://h/x/data.bin");
    expect(webSeedFileUrl(m, "http://h/x/", 0)).toBe("http://h/x/my%20file.bin");
  });

  it("appends name and path segments, percent-encoded, for a multi-file torrent", () => {
    const m = parseMetainfo(torrent(multiInfo()));
    expect(webSeedFileUrl(m, "http://h/base", 2)).toBe("http://h/base/multi/dir/b.bin");
    expect(webSeedFileUrl(m, "http://h/base/", 0)).toBe("http://h/base/multi/a.txt");
    const { m: odd } = multiTorrent([{ length: 5, padding: false }], 16);
    expect(webSeedFileUrl(odd, "http://h/", 0)).toBe("http://h/set/d/file%200%23.bin");
  });

  it("refuses a file index outside the torrent", () => {
    const m = parseMetainfo(torrent(multiInfo()));
    expectMetainfoError(() => webSeedFileUrl(m, SEED, 9), "OUT_OF_RANGE");
    expectMetainfoError(() => webSeedSpans(m, SEED, 40, 10), "OUT_OF_RANGE");
  });

  it("splits a piece that straddles files into one request per file and never asks for pad files", () => {
    const { m } = multiTorrent(
      [
        { length: 10, padding: false },
        { length: 6, padding: true },
        { length: 20, padding: false },
      ],
      16,
    );
    expect(webSeedSpans(m, SEED, 0, 16)).toEqual([
      { kind: "http", url: "http://mirror.test/pub/set/d/file%200%23.bin", fileOffset: 0, length: 10, fileLength: 10, rangeOffset: 0 },
      { kind: "zeros", length: 6, rangeOffset: 10 },
    ]);
    expect(webSeedSpans(m, SEED, 16, 20).map((s) => s.kind)).toEqual(["http"]);
  });

  it("covers any run of pieces exactly, in order, and the mirror's files give back the torrent's bytes", () => {
    const layout = fc.record({
      files: fc.array(fc.record({ length: fc.integer({ min: 0, max: 70 }), padding: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      pieceExp: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(layout, fc.nat(), fc.nat(), (spec, a, b) => {
        const files = spec.files.map((f) => ({ ...f, length: f.padding ? Math.max(1, f.length) : f.length }));
        // At least one byte that is not padding, or there is nothing to download.
        if (files.every((f) => f.padding || f.length === 0)) files.push({ length: 3, padding: false });
        const { m, data, fileData } = multiTorrent(files, 16 << spec.pieceExp);
        const first = a % m.pieceCount;
        const count = 1 + (b % (m.pieceCount - first));
        const offset = first * m.pieceLength;
        let length = 0;
        for (let i = first; i < first + count; i++) length += pieceLengthOf(m, i);
        const mirror = new Map(m.files.map((_, i) => [webSeedFileUrl(m, SEED, i), fileData[i]!]));
        const spans = webSeedSpans(m, SEED, offset, length);
        const out = new Uint8Array(length);
        let at = 0;
        for (const s of spans) {
          expect(s.rangeOffset).toBe(at);
          expect(s.length).toBeGreaterThan(0);
          if (s.kind === "http") {
            expect(s.fileOffset + s.length).toBeLessThanOrEqual(s.fileLength);
            out.set(mirror.get(s.url)!.subarray(s.fileOffset, s.fileOffset + s.length), at);
          }
          at += s.length;
        }
        expect(at).toBe(length);
        expect(Buffer.from(out).equals(Buffer.from(data.subarray(offset, offset + length)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("url-list limits", () => {
  it("keeps only absolute http(s) URLs without credentials", () => {
    const list = ["ftp://h/x", "http://ok/", "https://ok2/a", "file:///etc/passwd", "http://", "https://u:p@h/", "mirror/path", "HTTP://UP/"];
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": list })).urlList).toEqual(["http://ok/", "https://ok2/a", "HTTP://UP/"]);
  });

  it("drops oversized URLs and stops at the list limit", () => {
    const long = `http://h/${"a".repeat(5000)}`;
    const many = Array.from({ length: 200 }, (_, i) => `http://h${i}/`);
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": [long, "http://short/"] })).urlList).toEqual(["http://short/"]);
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": many })).urlList).toHaveLength(MAX_WEB_SEEDS);
  });

  it("ignores a url-list of the wrong type", () => {
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": 7 })).urlList).toEqual([]);
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": { a: 1 } })).urlList).toEqual([]);
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": [[["http://nested/"]]] })).urlList).toEqual([]);
  });
});
