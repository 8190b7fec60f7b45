import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "@shoal/coordination";
import { startS3Server, waitFor, type S3Server } from "@shoal/testkit";
import { MemoryUploadLedger } from "../src/index.js";
import { MIB, fileBytes, freshBucket, pieceCount, pieceOf, shuffled, sorted, storeFor, torrent, wantedPieces, writeAll, type Torrent } from "./fixtures.js";

/**
 * One Swift server for the whole file (it takes seconds to start); every case has its own
 * bucket. The restart case runs last because it restarts the shared server.
 */
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

/**
 * 512 KiB pieces over files below and above 5 MiB, an empty file, a padding file and an
 * unselected file, sized so pieces straddle files and parts start and end mid-piece.
 */
function mixedTorrent(): Torrent {
  return torrent("mixed", 512 * 1024, [
    { path: ["small.bin"], length: 1.5 * MIB + 123 },
    { path: ["empty.txt"], length: 0 },
    { path: ["big", "a.bin"], length: 12 * MIB + 777 },
    { path: [".pad", "1000"], length: 1000, padding: true },
    { path: ["big", "b.bin"], length: 6 * MIB + 5 },
    { path: ["skipped.iso"], length: 2 * MIB + 99, skipped: true },
    { path: ["tail.txt"], length: 300 * 1024 },
  ]);
}

/** Bytes of the files that become objects. */
function selectedBytes(t: Torrent): number {
  return t.layout.files.filter((f) => !f.padding && !f.skipped).reduce((n, f) => n + f.length, 0);
}

describe("S3ObjectStore on Swift", () => {
  it("writes a mixed torrent in random piece order into byte-identical objects with metadata, each byte once", async () => {
    const bucket = await freshBucket(s3, "mixed");
    const store = storeFor(s3, bucket);
    const t = mixedTorrent();
    const ih = t.layout.infoHash;
    try {
      await store.openTorrent(t.layout);
      const wanted = wantedPieces(t);
      const reported = await writeAll(store, t, shuffled(wanted, 0x5eed));
      expect(sorted(reported)).toEqual(wanted);
      // Every unit is uploaded once all its pieces are in: nothing is left buffered.
      expect(store.stats().bufferedBytes).toBe(0);
      await store.finalize(ih);

      const listed = await s3.listObjects(bucket, "dl/mixed/");
      expect(listed.map((o) => [o.key, o.size])).toEqual([
        ["dl/mixed/big/a.bin", 12 * MIB + 777],
        ["dl/mixed/big/b.bin", 6 * MIB + 5],
        ["dl/mixed/empty.txt", 0],
        ["dl/mixed/small.bin", 1.5 * MIB + 123],
        ["dl/mixed/tail.txt", 300 * 1024],
      ]);
      for (const f of t.layout.files.filter((x) => !x.padding && !x.skipped)) {
        const key = `dl/mixed/${f.path.join("/")}`;
        expect((await s3.getObject(bucket, key)).equals(fileBytes(t, f)), key).toBe(true);
        expect((await s3.headObject(bucket, key)).metadata).toEqual({ "shoal-info-hash": ih, "shoal-path": `mixed/${f.path.join("/")}` });
      }
      // Multipart objects carry S3's `-<parts>` ETag: a.bin in 3 parts, b.bin in 2.
      expect(listed.find((o) => o.key.endsWith("a.bin"))?.etag).toMatch(/-3$/);
      expect(listed.find((o) => o.key.endsWith("b.bin"))?.etag).toMatch(/-2$/);
      expect(await s3.listMultipartUploads(bucket)).toEqual([]);

      const stats = store.stats();
      expect(stats.bytesWritten).toBe(selectedBytes(t));
      expect(stats.bytesRead).toBe(0);
      expect(stats.retries).toBe(0);
      expect(stats.requests).toEqual({
        // small.bin and tail.txt as they fill, empty.txt at finalize.
        putObject: 3,
        createMultipartUpload: 2,
        uploadPart: 5,
        completeMultipartUpload: 2,
        abortMultipartUpload: 0,
        getObject: 0,
        // The size check at finalize reads one listing; a HEAD only for an object it shows wrong.
        headObject: 0,
        // What exists already, once at open, and the size check at finalize.
        listObjects: 2,
        // Only objects found damaged by a recheck are deleted.
        deleteObject: 0,
      });
      // The same attempts by the status Swift answered, and each one timed.
      expect(stats.requestsByStatus).toEqual({
        putObject: { "200": 3 },
        createMultipartUpload: { "200": 2 },
        uploadPart: { "200": 5 },
        completeMultipartUpload: { "200": 2 },
        listObjects: { "200": 2 },
      });
      for (const [op, n] of Object.entries(stats.requests)) {
        const d = stats.durations[op as keyof typeof stats.durations];
        expect(d.count, op).toBe(n);
        expect(d.buckets.at(-1), op).toBeLessThanOrEqual(n);
        expect(d.buckets).toEqual([...d.buckets].sort((x, y) => x - y));
        if (n > 0) expect(d.sumSeconds, op).toBeGreaterThan(0);
      }

      // Reads: across files and padding; any byte of the unselected file makes it undefined.
      const a = t.layout.files[2]!;
      expect((await store.readRange(ih, a.offset - 1000, 2 * MIB))?.equals(t.payload.subarray(a.offset - 1000, a.offset - 1000 + 2 * MIB))).toBe(true);
      const skipped = t.layout.files[5]!;
      expect(await store.readRange(ih, skipped.offset - 10, 20)).toBeUndefined();
      expect((await store.readRange(ih, skipped.offset - 10, 10))?.equals(t.payload.subarray(skipped.offset - 10, skipped.offset))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("answers reads of objects a fresh listing does not show without a GET, and sees objects another store finished", async () => {
    const bucket = await freshBucket(s3, "recheck");
    const t = mixedTorrent();
    const ih = t.layout.infoHash;
    // Fresh for the whole case, however slow the machine: its last read relies on it.
    const reader = storeFor(s3, bucket, { listingFreshMs: 600_000 });
    const writer = storeFor(s3, bucket);
    try {
      // A recheck of an empty prefix: every piece unreadable, one LIST in all.
      await reader.openTorrent(t.layout);
      for (const i of wantedPieces(t)) expect(await reader.readRange(ih, i * t.layout.pieceLength, pieceOf(t, i).length)).toBeUndefined();
      expect(reader.stats().requests.getObject).toBe(0);
      expect(reader.stats().requests.listObjects).toBe(1);
      // Another process finishes the objects. A reader opened before, whose listing has gone
      // stale, lists again once and reads them; one whose listing is still fresh does not.
      const stale = storeFor(s3, bucket, { listingFreshMs: 0 });
      await stale.openTorrent(t.layout);
      const first = wantedPieces(t)[0]!;
      const at = first * t.layout.pieceLength;
      expect(await stale.readRange(ih, at, pieceOf(t, first).length)).toBeUndefined();
      await writer.openTorrent(t.layout);
      await writeAll(writer, t, wantedPieces(t));
      await writer.finalize(ih);
      expect(await stale.readRange(ih, at, pieceOf(t, first).length)).toEqual(pieceOf(t, first));
      expect(await reader.readRange(ih, at, pieceOf(t, first).length)).toBeUndefined();
      await stale.close();
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it("reports a piece durable only once the part holding it is uploaded", async () => {
    const bucket = await freshBucket(s3, "hold");
    const store = storeFor(s3, bucket);
    // One 12 MiB file in 1 MiB pieces: parts of pieces 0-4, 5-9 and 10-11.
    const t = torrent("hold.bin", MIB, [{ path: [], length: 12 * MIB }]);
    const ih = t.layout.infoHash;
    try {
      await store.openTorrent(t.layout);
      for (const i of [3, 0, 1, 2]) expect(await store.writePiece(ih, i, pieceOf(t, i))).toEqual([]);
      expect(store.stats().requests.uploadPart).toBe(0);
      expect(store.stats().bufferedBytes).toBe(5 * MIB);
      // Held bytes serve reads; the object does not exist yet.
      expect((await store.readRange(ih, MIB, MIB))?.equals(pieceOf(t, 1))).toBe(true);
      expect(await s3.listObjects(bucket, "dl/")).toEqual([]);
      expect(await store.writePiece(ih, 4, pieceOf(t, 4))).toEqual([0, 1, 2, 3, 4]);
      expect(store.stats().requests.uploadPart).toBe(1);
      expect(store.stats().bufferedBytes).toBe(0);
      // Uploaded into an unfinished multipart upload: durable, but not readable until finalize.
      expect(await store.readRange(ih, MIB, MIB)).toBeUndefined();
      expect(await store.writePiece(ih, 11, pieceOf(t, 11))).toEqual([]);
      expect(await store.writePiece(ih, 10, pieceOf(t, 10))).toEqual([10, 11]);
      // A piece written again is durable at once and not uploaded again.
      expect(await store.writePiece(ih, 2, pieceOf(t, 2))).toEqual([2]);
      expect(store.stats().requests.uploadPart).toBe(2);
      expect(sorted(await writeAll(store, t, [9, 5, 8, 6, 7]))).toEqual([5, 6, 7, 8, 9]);
      await store.finalize(ih);
      expect((await s3.getObject(bucket, "dl/hold.bin")).equals(t.payload)).toBe(true);
      expect((await store.readRange(ih, MIB, MIB))?.equals(pieceOf(t, 1))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("resumes the multipart uploads of a writer restarted mid-torrent from the shared ledger", async () => {
    const bucket = await freshBucket(s3, "resume");
    const ledger = new MemoryUploadLedger();
    const t = torrent("resume", MIB, [
      { path: ["a.bin"], length: 12 * MIB + 512 * 1024 },
      { path: ["b.txt"], length: 100 },
    ]);
    const ih = t.layout.infoHash;
    const first = storeFor(s3, bucket, {}, { ledger });
    await first.openTorrent(t.layout);
    // Part 1 (pieces 0-4) uploads; pieces 5 and 6 are held in part 2 when the writer dies.
    expect(sorted(await writeAll(first, t, [0, 1, 2, 3, 4, 5, 6]))).toEqual([0, 1, 2, 3, 4]);
    // A crash: the first store is never closed or finalized, and its buffers are lost.
    const second = storeFor(s3, bucket, {}, { ledger });
    try {
      await second.openTorrent(t.layout);
      // A piece of the uploaded part is durable without another upload.
      expect(await second.writePiece(ih, 2, pieceOf(t, 2))).toEqual([2]);
      const rest = [5, 6, ...Array.from({ length: pieceCount(t) - 7 }, (_, k) => k + 7)];
      expect(sorted(await writeAll(second, t, shuffled(rest, 7)))).toEqual(rest);
      await second.finalize(ih);
      expect((await s3.getObject(bucket, "dl/resume/a.bin")).equals(fileBytes(t, t.layout.files[0]!))).toBe(true);
      expect((await s3.getObject(bucket, "dl/resume/b.txt")).equals(fileBytes(t, t.layout.files[1]!))).toBe(true);
      const stats = second.stats();
      // The same upload, continued: no new one, and only parts 2 and 3 (7.5 MiB) sent again.
      expect(stats.requests.createMultipartUpload).toBe(0);
      expect(stats.requests.uploadPart).toBe(2);
      expect(stats.bytesWritten).toBe(7.5 * MIB + 100);
      expect(await s3.listMultipartUploads(bucket)).toEqual([]);
      expect(await ledger.objects(ih)).toEqual([]);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it("starts over, aborting the old upload, when the ledger's parts no longer match the plan", async () => {
    const bucket = await freshBucket(s3, "replan");
    const ledger = new MemoryUploadLedger();
    const t = torrent("replan.bin", MIB, [{ path: [], length: 13 * MIB }]);
    const ih = t.layout.infoHash;
    const first = storeFor(s3, bucket, { partSizeMiB: 5 }, { ledger });
    await first.openTorrent(t.layout);
    expect(sorted(await writeAll(first, t, [0, 1, 2, 3, 4]))).toEqual([0, 1, 2, 3, 4]);
    // Restarted with 6 MiB parts: the 5 MiB part already uploaded fits no part of the new plan.
    const second = storeFor(s3, bucket, { partSizeMiB: 6 }, { ledger });
    try {
      await second.openTorrent(t.layout);
      expect(second.stats().requests.abortMultipartUpload).toBe(1);
      expect(await s3.listMultipartUploads(bucket)).toEqual([]);
      const all = Array.from({ length: pieceCount(t) }, (_, i) => i);
      expect(sorted(await writeAll(second, t, shuffled(all, 3)))).toEqual(all);
      await second.finalize(ih);
      expect((await s3.getObject(bucket, "dl/replan.bin")).equals(t.payload)).toBe(true);
      expect((await s3.listObjects(bucket, "dl/"))[0]?.etag).toMatch(/-3$/);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it("abortTorrent aborts unfinished uploads, drops held pieces and keeps finished objects", async () => {
    const bucket = await freshBucket(s3, "abort");
    const store = storeFor(s3, bucket);
    const t = torrent("abort", MIB, [
      { path: ["done.txt"], length: 1000 },
      { path: ["big.bin"], length: 11 * MIB },
    ]);
    const ih = t.layout.infoHash;
    try {
      await store.openTorrent(t.layout);
      // Piece 0 finishes done.txt; pieces 0-5 fill big.bin's first part (to 6 MiB); 7 is held.
      expect(sorted(await writeAll(store, t, [1, 2, 3, 4, 5, 0, 7]))).toEqual([0, 1, 2, 3, 4, 5]);
      expect((await s3.listMultipartUploads(bucket)).map((u) => u.key)).toEqual(["dl/abort/big.bin"]);
      expect(store.stats().bufferedBytes).toBeGreaterThan(0);
      await store.abortTorrent(ih);
      await store.abortTorrent(ih);
      expect(await s3.listMultipartUploads(bucket)).toEqual([]);
      expect(store.stats().bufferedBytes).toBe(0);
      expect(store.stats().requests.abortMultipartUpload).toBe(1);
      expect((await s3.listObjects(bucket, "dl/")).map((o) => o.key)).toEqual(["dl/abort/done.txt"]);
      expect((await store.readRange(ih, 0, 1000))?.equals(t.payload.subarray(0, 1000))).toBe(true);
      expect(await store.readRange(ih, 1000, 10)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("checks pieces against objects an earlier run finished, and refuses to contradict them", async () => {
    const bucket = await freshBucket(s3, "again");
    const t = torrent("again", MIB, [
      { path: ["x.bin"], length: 6 * MIB + 10 },
      { path: ["y.bin"], length: 2 * MIB },
    ]);
    const ih = t.layout.infoHash;
    const earlier = storeFor(s3, bucket);
    await earlier.openTorrent(t.layout);
    await writeAll(earlier, t, wantedPieces(t));
    await earlier.finalize(ih);
    await earlier.close();
    // A new run with no ledger: the objects are found at open, and a piece that straddles both
    // (a recheck could not read it whole) is compared, not uploaded.
    const store = storeFor(s3, bucket);
    try {
      await store.openTorrent(t.layout);
      expect(await store.writePiece(ih, 6, pieceOf(t, 6))).toEqual([6]);
      const wrong = Buffer.from(pieceOf(t, 7));
      wrong[100]! ^= 0xff;
      const err = await store.writePiece(ih, 7, wrong).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: "IO", retryable: false, message: expect.stringContaining("s3://") });
      const stats = store.stats();
      expect(stats.requests.putObject + stats.requests.uploadPart + stats.requests.createMultipartUpload).toBe(0);
      expect(stats.bytesRead).toBe(2 * MIB);
      expect((await store.readRange(ih, 0, t.layout.totalLength))?.equals(t.payload)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("fails at open with one-line non-retryable errors for a missing bucket and bad credentials", async () => {
    const bucket = await freshBucket(s3, "errors");
    const t = torrent("errors", MIB, [{ path: ["f.bin"], length: 10 }]);
    const cases = [
      { store: storeFor(s3, "no-such-bucket-here"), expect: /^s3\.listObjects failed on s3:\/\/no-such-bucket-here\/dl\/errors\/: NoSuchBucket: the bucket does not exist$/ },
      { store: storeFor(s3, bucket, { secretKey: "not-the-secret" }), expect: /^s3\.listObjects failed on s3:\/\/errors-[0-9a-f]+\/dl\/errors\/: SignatureDoesNotMatch: / },
      { store: storeFor(s3, bucket, { accessKey: "nobody:nothing" }), expect: /^s3\.listObjects failed on s3:\/\/errors-[0-9a-f]+\/dl\/errors\/: (SignatureDoesNotMatch|InvalidAccessKeyId): / },
    ];
    for (const c of cases) {
      try {
        const err = await c.store.openTorrent(t.layout).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect(err).toMatchObject({ code: "IO", retryable: false });
        expect((err as Error).message).toMatch(c.expect);
        expect((err as Error).message).not.toMatch(/\n/);
        // Permanent: asked once, not retried.
        expect(c.store.stats().requests.listObjects).toBe(1);
        await expect(c.store.writePiece(t.layout.infoHash, 0, t.payload)).rejects.toMatchObject({ code: "UNKNOWN_TORRENT" });
      } finally {
        await c.store.close();
      }
    }
  });

  // The last two restart the shared server.
  it("keeps a unit whose upload failed and uploads it on the next write of one of its pieces", async () => {
    const bucket = await freshBucket(s3, "failed");
    const store = storeFor(s3, bucket, { retries: 0 });
    const t = torrent("crash.bin", MIB, [{ path: [], length: 6 * MIB }]);
    const ih = t.layout.infoHash;
    try {
      await store.openTorrent(t.layout);
      expect(await writeAll(store, t, [1, 2, 3, 4])).toEqual([]);
      await s3.kill9();
      const err = await store.writePiece(ih, 0, pieceOf(t, 0)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: "IO", retryable: true, message: expect.stringMatching(/^s3\.createMultipartUpload failed on s3:\/\/failed-[0-9a-f]+\/dl\/crash\.bin: (ECONNREFUSED|ECONNRESET)/) });
      expect(store.stats().bufferedBytes).toBe(5 * MIB);
      await s3.restart();
      // The bus redelivers piece 0: the full unit is uploaded and every piece in it reported.
      expect(await store.writePiece(ih, 0, pieceOf(t, 0))).toEqual([0, 1, 2, 3, 4]);
      expect(await store.writePiece(ih, 5, pieceOf(t, 5))).toEqual([5]);
      await store.finalize(ih);
      expect((await s3.getObject(bucket, "dl/crash.bin")).equals(t.payload)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("survives an S3 server restart in the middle of writing, through retries", async () => {
    const bucket = await freshBucket(s3, "restart");
    // Swift takes 5-15 s to come back on a busy machine; 30 retries of at most 2 s wait 26 to 53 s.
    const store = storeFor(s3, bucket, { retries: 30, retryBaseMs: 100, retryMaxMs: 2000 });
    const t = torrent("restart.bin", MIB, [{ path: [], length: 11 * MIB + 3 }]);
    const ih = t.layout.infoHash;
    try {
      await store.openTorrent(t.layout);
      expect(sorted(await writeAll(store, t, [0, 1, 2, 3, 4, 5]))).toEqual([0, 1, 2, 3, 4]);
      const restarted = s3.restart();
      await waitFor(async () => (await s3.listBuckets().then(() => false, () => true)), { timeoutMs: 30_000, what: "the S3 server to go down" });
      // Piece 9 fills part 2 while the server is down: its upload fails until the server is back.
      const during = writeAll(store, t, [6, 7, 8, 9]);
      await restarted;
      expect(sorted(await during)).toEqual([5, 6, 7, 8, 9]);
      const stats = store.stats();
      expect(stats.retries).toBeGreaterThan(0);
      // Every attempt that was made again failed without a 2xx answer: refused connections
      // (network), 503s of a proxy whose back ends are still starting, or timeouts.
      const failed = Object.values(stats.requestsByStatus).reduce((n, byStatus) => n + Object.entries(byStatus ?? {}).filter(([st]) => !/^2/.test(st)).reduce((m, [, c]) => m + c, 0), 0);
      expect(failed).toBeGreaterThanOrEqual(stats.retries);
      expect(sorted(await writeAll(store, t, [10, 11]))).toEqual([10, 11]);
      await store.finalize(ih);
      expect((await s3.getObject(bucket, "dl/restart.bin")).equals(t.payload)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
