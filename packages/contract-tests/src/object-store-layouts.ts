import type { LayoutFile, TorrentLayout } from "@shoal/coordination";
import { randomId, randomInfoHash } from "./ids.js";

/** A torrent's layout and the bytes of its whole stream (zeros where BEP 47 padding lies). */
export interface LayoutFixture {
  readonly layout: TorrentLayout;
  readonly payload: Buffer;
}

/**
 * Tiny pieces, so a handful of bytes crosses every kind of boundary: a piece ends inside a file,
 * spans a zero-length file and a padding file, and straddles two real files.
 */
const PIECE_LENGTH = 16;

/**
 * Five files: `a.bin` (10), `empty.txt` (0), a 6-byte padding file that aligns the next file to
 * a piece, `sub/b.bin` (20) and `c.txt` (5): 41 bytes in 3 pieces of 16, 16 and 9.
 */
export function multiFileLayout(): LayoutFixture {
  const specs: readonly (readonly [readonly string[], number, boolean])[] = [
    [["a.bin"], 10, false],
    [["empty.txt"], 0, false],
    [[".pad", "6"], 6, true],
    [["sub", "b.bin"], 20, false],
    [["c.txt"], 5, false],
  ];
  let offset = 0;
  const files: LayoutFile[] = specs.map(([path, length, padding]) => {
    const f = { path, length, offset, padding };
    offset += length;
    return f;
  });
  return fixture({ infoHash: randomInfoHash(), name: randomId("multi"), pieceLength: PIECE_LENGTH, totalLength: offset, files });
}

/** One 37-byte file in 3 pieces (16, 16, 5): it lands at `<destination>/<name>`. */
export function singleFileLayout(): LayoutFixture {
  const files: LayoutFile[] = [{ path: [], length: 37, offset: 0, padding: false }];
  return fixture({ infoHash: randomInfoHash(), name: `${randomId("single")}.bin`, pieceLength: PIECE_LENGTH, totalLength: 37, files });
}

export function pieceCount(layout: TorrentLayout): number {
  return Math.ceil(layout.totalLength / layout.pieceLength);
}

/** The bytes of piece `index` cut from the payload (the last piece is short). */
export function pieceOf(f: LayoutFixture, index: number): Buffer {
  const start = index * f.layout.pieceLength;
  return f.payload.subarray(start, Math.min(start + f.layout.pieceLength, f.layout.totalLength));
}

/** The bytes of one file cut from the payload. */
export function fileBytes(f: LayoutFixture, file: LayoutFile): Buffer {
  return f.payload.subarray(file.offset, file.offset + file.length);
}

/** The key `listFiles` uses for a file: its path below the torrent's root, joined with "/". */
export function fileKey(file: LayoutFile): string {
  return file.path.join("/");
}

function fixture(layout: TorrentLayout): LayoutFixture {
  const payload = Buffer.alloc(layout.totalLength);
  for (let i = 0; i < payload.length; i++) payload[i] = 1 + ((i * 37) % 251);
  for (const f of layout.files) if (f.padding) payload.fill(0, f.offset, f.offset + f.length);
  return { layout, payload };
}
