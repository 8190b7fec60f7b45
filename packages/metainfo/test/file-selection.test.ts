import { describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { MetainfoError, TorrentInfoCache, selectFiles, type InfoDict, type TorrentFile } from "../src/index.js";
import { hex, multiInfo, sha1 } from "./fixtures.js";

/** A multi-file layout with the given file lengths (a `p` prefix marks a padding file). */
function layout(pieceLength: number, lengths: readonly (number | `p${number}`)[]): InfoDict {
  const files: TorrentFile[] = [];
  let offset = 0;
  lengths.forEach((l, index) => {
    const padding = typeof l === "string";
    const length = padding ? Number(l.slice(1)) : l;
    files.push({ index, path: [`f${index}`], length, offset, padding });
    offset += length;
  });
  const pieceCount = Math.ceil(offset / pieceLength);
  return {
    infoHash: new Uint8Array(20),
    infoHashHex: "00".repeat(20),
    name: "t",
    pieceLength,
    pieceCount,
    totalLength: offset,
    lastPieceLength: offset - (pieceCount - 1) * pieceLength,
    pieceHashes: new Uint8Array(20 * pieceCount),
    files,
    multiFile: true,
    private: false,
    infoBytes: new Uint8Array(),
  };
}

describe("selectFiles", () => {
  it("wants everything without a selection", () => {
    const m = layout(10, [15, 0, 12]);
    const s = selectFiles(m, undefined);
    expect(s.skippedPieces).toEqual([]);
    expect(s.skippedFiles).toEqual([false, false, false]);
    expect(s.wantedBytes).toBe(27);
    expect(s.wantedPieces).toBe(3);
  });

  it("wants the pieces of the selected files, boundary pieces included", () => {
    // Pieces of 10: f0 = [0,15) -> pieces 0-1, f1 = [15,25) -> 1-2, f2 = [25,40) -> 2-3, f3 = [40,45) -> 4.
    const m = layout(10, [15, 10, 15, 5]);
    const s = selectFiles(m, [1]);
    expect(s.skippedPieces).toEqual([0, 3, 4]);
    expect(s.skippedFiles).toEqual([true, false, true, true]);
    expect(s.selectedFiles).toEqual([1]);
    expect(s.wantedBytes).toBe(20);
    expect(selectFiles(m, [0, 3]).skippedPieces).toEqual([2, 3]);
  });

  it("numbers files without padding, as shoal info lists them", () => {
    const m = layout(16, [10, "p6", 16, "p0", 4]);
    const s = selectFiles(m, [1]);
    expect(s.selectedFiles).toEqual([2]);
    expect(s.skippedFiles).toEqual([true, false, false, false, true]);
    expect(s.skippedPieces).toEqual([0, 2]);
    expect(() => selectFiles(m, [3])).toThrow(/file 3 does not exist: the torrent has 3 file\(s\), numbered 0 to 2/);
  });

  it("an empty file needs no piece", () => {
    const m = layout(10, [10, 0, 10]);
    const s = selectFiles(m, [1]);
    expect(s.skippedPieces).toEqual([0, 1]);
    expect(s.wantedBytes).toBe(0);
  });

  it("refuses an index the torrent does not have with a MetainfoError", () => {
    const m = layout(10, [10, 10]);
    expect(() => selectFiles(m, [2])).toThrow(MetainfoError);
  });
});

describe("TorrentInfoCache", () => {
  it("gives every service the same layout, with the catalog's file selection marked", async () => {
    const infoBytes = encode(multiInfo());
    const ih = hex(sha1(infoBytes));
    const cache = new TorrentInfoCache(async (h) => (h === ih ? { infoBytes, selectFiles: [2] } : undefined));
    const info = await cache.get(ih);
    expect(info.layout.files.map((f) => f.skipped)).toEqual([true, true, false, true]);
    expect(info.selection.selectedFiles).toEqual([2]);
    const all = await new TorrentInfoCache(async () => ({ infoBytes })).get(ih);
    expect(all.layout.files.every((f) => !f.skipped)).toBe(true);
    await expect(cache.get("00".repeat(20))).rejects.toThrow(/no metadata is known/);
  });
});
