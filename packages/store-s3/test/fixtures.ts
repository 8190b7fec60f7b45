import { randomBytes } from "node:crypto";
import type { LayoutFile, TorrentLayout } from "@shoal/coordination";
import type { S3Server } from "@shoal/testkit";
import { S3ObjectStore, type S3ObjectStoreDeps, type S3StoreConfigInput } from "../src/index.js";

export const MIB = 1024 * 1024;

export interface FileSpec {
  readonly path: readonly string[];
  readonly length: number;
  readonly padding?: boolean;
  readonly skipped?: boolean;
}

/** A layout and its payload: random bytes, zeros where padding lies. */
export interface Torrent {
  readonly layout: TorrentLayout;
  readonly payload: Buffer;
}

export function torrent(name: string, pieceLength: number, specs: readonly FileSpec[]): Torrent {
  let offset = 0;
  const files: LayoutFile[] = specs.map((s) => {
    const f = { path: s.path, length: s.length, offset, padding: s.padding ?? false, skipped: s.skipped ?? false };
    offset += s.length;
    return f;
  });
  const payload = randomBytes(offset);
  for (const f of files) if (f.padding) payload.fill(0, f.offset, f.offset + f.length);
  return { layout: { infoHash: randomBytes(20).toString("hex"), name, pieceLength, totalLength: offset, files }, payload };
}

export function pieceCount(t: Torrent): number {
  return Math.ceil(t.layout.totalLength / t.layout.pieceLength);
}

export function pieceOf(t: Torrent, i: number): Buffer {
  const start = i * t.layout.pieceLength;
  return t.payload.subarray(start, Math.min(start + t.layout.pieceLength, t.layout.totalLength));
}

export function fileBytes(t: Torrent, f: LayoutFile): Buffer {
  return t.payload.subarray(f.offset, f.offset + f.length);
}

/** Pieces that hold a byte of a selected file: the only ones the claim table hands out. */
export function wantedPieces(t: Torrent): number[] {
  const L = t.layout.pieceLength;
  const out: number[] = [];
  for (let i = 0; i < pieceCount(t); i++) {
    const start = i * L;
    const end = Math.min(start + L, t.layout.totalLength);
    if (t.layout.files.some((f) => !f.padding && !f.skipped && f.length > 0 && f.offset < end && f.offset + f.length > start)) out.push(i);
  }
  return out;
}

/** A fixed-seed shuffle (a 32-bit LCG), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function freshBucket(s3: S3Server, label: string): Promise<string> {
  const bucket = `${label}-${randomBytes(5).toString("hex")}`;
  await s3.createBucket(bucket);
  return bucket;
}

/** A store on the test server with S3's smallest parts, so a few MiB make multipart objects. */
export function storeFor(s3: S3Server, bucket: string, overrides: Partial<S3StoreConfigInput> = {}, deps: S3ObjectStoreDeps = {}): S3ObjectStore {
  return new S3ObjectStore(
    { endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKeyId, secretKey: s3.secretAccessKey, bucket, prefix: "dl", partSizeMiB: 5, ...overrides },
    deps,
  );
}

/** Writes the pieces in order and returns every piece reported durable along the way. */
export async function writeAll(store: S3ObjectStore, t: Torrent, order: readonly number[]): Promise<number[]> {
  const reported: number[] = [];
  for (const i of order) reported.push(...(await store.writePiece(t.layout.infoHash, i, pieceOf(t, i))));
  return reported;
}

export function sorted(xs: Iterable<number>): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
