import { createHash } from "node:crypto";
import { encode } from "@shoal/bencode";
import type { TreeReader } from "@shoal/coordination";
import { parseInfoDict, type InfoDict } from "@shoal/metainfo";
import { seededBytes } from "@shoal/testkit";

export interface FileSpec {
  readonly path: string;
  readonly length: number;
  /** A BEP 47 padding file (zeros, attr "p"). */
  readonly padding?: boolean;
}

export interface Fixture {
  readonly meta: InfoDict;
  /** The torrent's byte stream, zeros in padding. */
  readonly stream: Buffer;
  /** Each file's bytes by index in `meta.files`. */
  readonly files: readonly Buffer[];
}

/** Deterministic bytes, so a failure replays. */
export function bytes(length: number, seed: number): Buffer {
  return Buffer.from(seededBytes(seed)(length));
}

/** A multi-file torrent (or single-file with `single`) over deterministic bytes, parsed as shoal parses it. */
export function fixture(name: string, pieceLength: number, specs: readonly FileSpec[], opts: { single?: boolean; seed?: number } = {}): Fixture {
  const parts = specs.map((s, i) => (s.padding ? Buffer.alloc(s.length) : bytes(s.length, (opts.seed ?? 1) * 1000 + i + 1)));
  const stream = Buffer.concat(parts);
  const pieces: Buffer[] = [];
  for (let at = 0; at < stream.length; at += pieceLength) pieces.push(createHash("sha1").update(stream.subarray(at, at + pieceLength)).digest());
  const info: Record<string, unknown> = { name, "piece length": pieceLength, pieces: Buffer.concat(pieces) };
  if (opts.single) info["length"] = specs[0]!.length;
  else {
    info["files"] = specs.map((s) => ({ length: s.length, path: s.path.split("/"), ...(s.padding ? { attr: "p" } : {}) }));
  }
  const meta = parseInfoDict(encode(info as never));
  return { meta, stream, files: parts };
}

/**
 * A TreeReader over buffers in memory: `undefined` is a missing file. It records every read and
 * the most bytes ever asked for and not yet returned, so tests can check that reading is
 * sequential and bounded.
 */
export class MemoryTreeReader implements TreeReader {
  readonly reads: { index: number; offset: number; length: number }[] = [];
  inFlightBytes = 0;
  maxInFlightBytes = 0;
  failAt: { index: number; offset: number } | undefined;

  constructor(readonly contents: (Buffer | undefined)[]) {}

  locationOf(index: number): string {
    return `mem:${index}`;
  }

  async sizes(): Promise<readonly (number | undefined)[]> {
    return this.contents.map((c) => c?.length);
  }

  async read(index: number, offset: number, length: number): Promise<Buffer> {
    this.reads.push({ index, offset, length });
    this.inFlightBytes += length;
    this.maxInFlightBytes = Math.max(this.maxInFlightBytes, this.inFlightBytes);
    try {
      await new Promise((r) => setImmediate(r));
      if (this.failAt && this.failAt.index === index && offset <= this.failAt.offset && this.failAt.offset < offset + length) throw new Error(`read failed on file ${index}`);
      const c = this.contents[index];
      if (!c || offset + length > c.length) throw new Error(`file ${index} ends before ${offset + length}`);
      return Buffer.from(c.subarray(offset, offset + length));
    } finally {
      this.inFlightBytes -= length;
    }
  }

  async close(): Promise<void> {}
}
