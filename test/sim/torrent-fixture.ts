import { createHash } from "node:crypto";
import { encode } from "@shoal/bencode";
import { parseInfoDict, type InfoDict } from "@shoal/metainfo";

export interface FixtureOptions {
  /** The torrent's root name (the single file's name, or the directory of a multi-file torrent). */
  readonly name?: string;
  readonly pieceLength: number;
  /** One number makes a single-file torrent; a list makes a multi-file torrent of those sizes. */
  readonly size: number | readonly number[];
  /** Seeds the payload bytes, so a failing run can be replayed exactly. */
  readonly seed?: number;
}

export interface FixtureFile {
  /** Components below the root; `[]` for a single-file torrent. */
  readonly path: readonly string[];
  readonly offset: number;
  readonly length: number;
}

/** A torrent that exists only in memory: its payload, info dict and parsed metainfo. */
export interface TorrentFixture {
  readonly payload: Buffer;
  readonly infoBytes: Uint8Array;
  readonly meta: InfoDict;
  readonly files: readonly FixtureFile[];
  readonly infoHashHex: string;
  readonly pieceCount: number;
  readonly pieceLength: number;
  /** The bytes of piece `index`, a view into the payload. */
  piece(index: number): Buffer;
}

/**
 * Builds a v1 torrent around a deterministic pseudo-random payload. Pieces are hashed here and
 * the info dict is written with the project's own encoder, so the test exercises exactly the
 * bytes a .torrent would carry without touching the disk.
 */
export function makeFixture(opts: FixtureOptions): TorrentFixture {
  const name = opts.name ?? "payload.bin";
  const sizes = typeof opts.size === "number" ? [opts.size] : [...opts.size];
  const total = sizes.reduce((a, b) => a + b, 0);
  const payload = pseudoRandomBytes(total, opts.seed ?? 1);
  const pieceCount = Math.ceil(total / opts.pieceLength);
  const hashes = Buffer.alloc(pieceCount * 20);
  for (let i = 0; i < pieceCount; i++) {
    createHash("sha1")
      .update(payload.subarray(i * opts.pieceLength, Math.min(total, (i + 1) * opts.pieceLength)))
      .digest()
      .copy(hashes, i * 20);
  }
  const files: FixtureFile[] = [];
  let offset = 0;
  const multi = typeof opts.size !== "number";
  sizes.forEach((length, i) => {
    files.push({ path: multi ? [`file-${i}.bin`] : [], offset, length });
    offset += length;
  });
  const info = multi
    ? { name, "piece length": opts.pieceLength, pieces: hashes, files: files.map((f) => ({ length: f.length, path: [...f.path] })) }
    : { name, "piece length": opts.pieceLength, pieces: hashes, length: total };
  const infoBytes = encode(info);
  const meta = parseInfoDict(infoBytes);
  return {
    payload,
    infoBytes,
    meta,
    files,
    infoHashHex: meta.infoHashHex,
    pieceCount,
    pieceLength: opts.pieceLength,
    piece: (index) => payload.subarray(index * opts.pieceLength, Math.min(total, (index + 1) * opts.pieceLength)),
  };
}

/** mulberry32, four bytes per step: fast enough for the few MiB a simulation moves. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const v = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i + k < length; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return out;
}
