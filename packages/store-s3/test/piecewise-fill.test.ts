import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type S3Server } from "@shoal/testkit";
import { MIB, fileBytes, freshBucket, pieceOf, shuffled, sorted, storeFor, torrent, wantedPieces, type Torrent } from "./fixtures.js";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

/**
 * 32 KiB pieces over twelve small files (one PUT each) and one multipart file, sizes chosen so
 * pieces straddle files: a writer that receives one piece of each file first.
 */
function manyFiles(name: string): Torrent {
  const specs = Array.from({ length: 12 }, (_, i) => ({ path: [`f${i}.bin`], length: 1.5 * MIB + 777 * (i + 1) }));
  return torrent(name, 32 * 1024, [...specs, { path: ["big.bin"], length: 11 * MIB + 4321 }]);
}

/** The first wanted piece of each file, then every other wanted piece in a shuffled order. */
function onePieceOfEachFirst(t: Torrent): { firsts: number[]; rest: number[] } {
  const L = t.layout.pieceLength;
  const firsts = sorted(t.layout.files.map((f) => Math.floor(f.offset / L)));
  const rest = shuffled(
    wantedPieces(t).filter((p) => !firsts.includes(p)),
    0xf111,
  );
  return { firsts, rest };
}

/** Writes a copy of each piece and spoils the copy once the write returns, as a producer reusing its buffer would. */
async function writeCopies(store: ReturnType<typeof storeFor>, t: Torrent, order: readonly number[]): Promise<void> {
  for (const p of order) {
    const copy = Buffer.from(pieceOf(t, p));
    await store.writePiece(t.layout.infoHash, p, copy);
    copy.fill(0xff);
  }
}

describe("S3ObjectStore past its fill budget", () => {
  it("holds about the bytes received, not the sizes of the units touched, and still lands every object byte-identical", async () => {
    const bucket = await freshBucket(s3, "piecewise");
    const t = manyFiles("piecewise");
    const store = storeFor(s3, bucket, { fillBufferMiB: 2 });
    const ih = t.layout.infoHash;
    try {
      await store.openTorrent(t.layout);
      const { firsts, rest } = onePieceOfEachFirst(t);
      await writeCopies(store, t, firsts);
      // One piece of each of 13 units: whole buffers would hold 12 x 1.5 MiB + a 5 MiB part.
      // Within the budget whole buffers, past it each unit's share of its first piece.
      const held = store.stats().bufferedBytes;
      expect(held).toBeLessThanOrEqual(2 * MIB + firsts.length * 2 * t.layout.pieceLength);
      expect(held).toBeGreaterThan(0);

      // A unit being filled piece by piece answers reads of what it holds, across a straddling piece.
      const f5 = t.layout.files[5]!;
      const L = t.layout.pieceLength;
      const straddling = Math.floor(f5.offset / L);
      expect(firsts).toContain(straddling);
      const read = await store.readRange(ih, straddling * L, L);
      expect(read?.equals(pieceOf(t, straddling))).toBe(true);
      // A range with a piece not received yet is not readable.
      expect(await store.readRange(ih, straddling * L, 2 * L)).toBeUndefined();

      await writeCopies(store, t, rest);
      expect(store.stats().bufferedBytes).toBe(0);
      await store.finalize(ih);
      for (const f of t.layout.files) {
        const key = `dl/piecewise/${f.path.join("/")}`;
        expect((await s3.getObject(bucket, key)).equals(fileBytes(t, f)), key).toBe(true);
      }
      expect(store.stats().bytesWritten).toBe(t.layout.totalLength);
      expect(await s3.listMultipartUploads(bucket)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("finalizes units filled piece by piece with zeros where pieces never came", async () => {
    const bucket = await freshBucket(s3, "piecewise-holes");
    const t = manyFiles("holes");
    const store = storeFor(s3, bucket, { fillBufferMiB: 0 });
    const ih = t.layout.infoHash;
    const L = t.layout.pieceLength;
    try {
      await store.openTorrent(t.layout);
      const { firsts, rest } = onePieceOfEachFirst(t);
      // Two pieces inside f3 and one inside big.bin never come.
      const f3 = t.layout.files[3]!;
      const big = t.layout.files[12]!;
      const missing = [Math.floor(f3.offset / L) + 5, Math.floor(f3.offset / L) + 9, Math.floor(big.offset / L) + 200];
      await writeCopies(store, t, [...firsts, ...rest.filter((p) => !missing.includes(p))]);
      await store.finalize(ih);
      const expected = Buffer.from(t.payload);
      for (const p of missing) expected.fill(0, p * L, (p + 1) * L);
      for (const f of t.layout.files) {
        const key = `dl/holes/${f.path.join("/")}`;
        expect((await s3.getObject(bucket, key)).equals(expected.subarray(f.offset, f.offset + f.length)), key).toBe(true);
      }
      expect(store.stats().bufferedBytes).toBe(0);
    } finally {
      await store.close();
    }
  });
});
