import { describe, expect } from "vitest";
import { CoordinationError, type LedgerObject, type UploadLedger } from "@shoal/coordination";
import { expectRejection } from "./expect-error.js";
import { caseRegistry, type PortHarness } from "./harness.js";
import { randomId, randomInfoHash } from "./ids.js";

export interface UploadLedgerHarness extends PortHarness<UploadLedger> {
  /**
   * A second ledger on the same backend as `ledger`, as a storage-writer restarted in another
   * process would open: what one recorded, the other must read. The memory ledger's backend is
   * the instance itself, so its harness hands the same instance back. The case closes what this
   * returns when it is another instance.
   */
  reopen(ledger: UploadLedger): Promise<UploadLedger>;
}

/** Records of one torrent in a fixed order: the port leaves the order of objects open. */
async function recordsOf(ledger: UploadLedger, infoHash: string): Promise<LedgerObject[]> {
  return [...(await ledger.objects(infoHash))].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** An S3 ETag as servers send it: quoted hex. */
const etag = (n: number) => `"${n.toString(16).padStart(32, "0")}"`;
/** Parts of 5 MiB, S3's smallest but the last. */
const PART_BYTES = 5 * 1024 * 1024;

/** Cases every UploadLedger adapter must pass. */
export function uploadLedgerContract(harness: UploadLedgerHarness): void {
  describe(`UploadLedger contract: ${harness.name}`, () => {
    const { scenario, done } = caseRegistry(harness);

    scenario("records an upload's parts in part order and drops them when the object completes", async (ledger) => {
      const ih = randomInfoHash();
      await ledger.beginUpload(ih, "dl/t/a.bin", "u1");
      await ledger.recordPart(ih, "dl/t/a.bin", "u1", { partNumber: 2, etag: etag(2), size: 17 });
      await ledger.recordPart(ih, "dl/t/a.bin", "u1", { partNumber: 1, etag: etag(1), size: PART_BYTES });
      expect(await recordsOf(ledger, ih)).toEqual([
        {
          key: "dl/t/a.bin",
          uploadId: "u1",
          parts: [
            { partNumber: 1, etag: etag(1), size: PART_BYTES },
            { partNumber: 2, etag: etag(2), size: 17 },
          ],
          complete: false,
        },
      ]);
      await ledger.recordComplete(ih, "dl/t/a.bin");
      expect(await recordsOf(ledger, ih)).toEqual([{ key: "dl/t/a.bin", parts: [], complete: true }]);
    });

    scenario("recording a part again keeps one record of it, the last one", async (ledger) => {
      const ih = randomInfoHash();
      await ledger.beginUpload(ih, "k", "u1");
      const part = { partNumber: 3, etag: etag(3), size: PART_BYTES };
      // A retried write records the same part twice; a part uploaded again gets S3's new ETag.
      await ledger.recordPart(ih, "k", "u1", part);
      await ledger.recordPart(ih, "k", "u1", part);
      expect((await recordsOf(ledger, ih))[0]!.parts).toEqual([part]);
      await ledger.recordPart(ih, "k", "u1", { ...part, etag: etag(33) });
      expect((await recordsOf(ledger, ih))[0]!.parts).toEqual([{ ...part, etag: etag(33) }]);
    });

    scenario("ignores parts of an upload that is not the key's current one", async (ledger) => {
      const ih = randomInfoHash();
      await ledger.beginUpload(ih, "k", "old");
      await ledger.recordPart(ih, "k", "old", { partNumber: 1, etag: etag(1), size: PART_BYTES });
      await ledger.beginUpload(ih, "k", "new");
      await ledger.recordPart(ih, "k", "old", { partNumber: 2, etag: etag(2), size: PART_BYTES });
      await ledger.recordPart(ih, "other", "old", { partNumber: 1, etag: etag(9), size: PART_BYTES });
      expect(await recordsOf(ledger, ih)).toEqual([{ key: "k", uploadId: "new", parts: [], complete: false }]);
    });

    scenario("a new upload replaces a finished object's record", async (ledger) => {
      const ih = randomInfoHash();
      await ledger.recordComplete(ih, "k");
      await ledger.beginUpload(ih, "k", "u2");
      expect(await recordsOf(ledger, ih)).toEqual([{ key: "k", uploadId: "u2", parts: [], complete: false }]);
    });

    scenario("forgetObject removes one object's upload and parts and keeps the others", async (ledger) => {
      const ih = randomInfoHash();
      await ledger.beginUpload(ih, "a", "ua");
      await ledger.recordPart(ih, "a", "ua", { partNumber: 1, etag: etag(1), size: PART_BYTES });
      await ledger.beginUpload(ih, "b", "ub");
      await ledger.recordComplete(ih, "c");
      await ledger.recordComplete(ih, "d");
      await ledger.forgetObject(ih, "a");
      await ledger.forgetObject(ih, "c");
      await ledger.forgetObject(ih, "never-recorded");
      expect(await recordsOf(ledger, ih)).toEqual([
        { key: "b", uploadId: "ub", parts: [], complete: false },
        { key: "d", parts: [], complete: true },
      ]);
      // Its parts went with it: the same upload id recorded again starts without them.
      await ledger.beginUpload(ih, "a", "ua");
      expect((await recordsOf(ledger, ih))[0]).toEqual({ key: "a", uploadId: "ua", parts: [], complete: false });
    });

    scenario("forgetTorrent removes every record of one torrent and keeps other torrents'", async (ledger) => {
      const [ih, other] = [randomInfoHash(), randomInfoHash()];
      await ledger.beginUpload(ih, "a", "u1");
      await ledger.recordPart(ih, "a", "u1", { partNumber: 1, etag: etag(1), size: PART_BYTES });
      await ledger.recordComplete(ih, "b");
      await ledger.beginUpload(other, "a", "u2");
      await ledger.forgetTorrent(ih);
      expect(await ledger.objects(ih)).toEqual([]);
      expect(await recordsOf(ledger, other)).toEqual([{ key: "a", uploadId: "u2", parts: [], complete: false }]);
      await ledger.beginUpload(ih, "a", "u1");
      expect((await recordsOf(ledger, ih))[0]!.parts).toEqual([]);
      await ledger.forgetTorrent(randomInfoHash());
    });

    scenario("a torrent nothing was recorded for has no objects", async (ledger) => {
      expect(await ledger.objects(randomInfoHash())).toEqual([]);
    });

    scenario("object keys and upload ids of any characters round-trip", async (ledger) => {
      const ih = randomInfoHash();
      // S3 keys are up to 1024 bytes of UTF-8 and may hold braces, colons, spaces and newlines.
      const keys = ["dl/{x}/a:b c.bin", "dl/t/ünï cødé/ファイル.txt", "dl/t/line\nbreak", `dl/${"k".repeat(1000)}`];
      const uploadId = "2~Xx-_.{}/+=";
      for (const key of keys) {
        await ledger.beginUpload(ih, key, uploadId);
        await ledger.recordPart(ih, key, uploadId, { partNumber: 10_000, etag: etag(7), size: 1 });
      }
      expect(await recordsOf(ledger, ih)).toEqual(
        [...keys].sort().map((key) => ({ key, uploadId, parts: [{ partNumber: 10_000, etag: etag(7), size: 1 }], complete: false })),
      );
    });

    scenario("records survive a new ledger instance on the same backend (a restarted writer)", async (ledger) => {
      const ih = randomInfoHash();
      const key = `dl/${randomId("file")}.bin`;
      await ledger.beginUpload(ih, key, "u1");
      await ledger.recordPart(ih, key, "u1", { partNumber: 1, etag: etag(1), size: PART_BYTES });
      await ledger.recordComplete(ih, "dl/small.txt");
      const expected = await recordsOf(ledger, ih);
      const second = await harness.reopen(ledger);
      try {
        expect(await recordsOf(second, ih)).toEqual(expected);
        // The restarted writer continues the same upload; the records stay one set.
        await second.recordPart(ih, key, "u1", { partNumber: 2, etag: etag(2), size: 3 });
        expect((await recordsOf(ledger, ih))[0]!.parts.map((p) => p.partNumber)).toEqual([1, 2]);
      } finally {
        if (second !== ledger) await second.close();
      }
    });

    scenario("after close every method throws CoordinationError BACKEND_UNAVAILABLE, retryable", async (ledger) => {
      const ih = randomInfoHash();
      await ledger.beginUpload(ih, "k", "u1");
      await ledger.close();
      const calls: Record<string, () => Promise<unknown>> = {
        objects: () => ledger.objects(ih),
        beginUpload: () => ledger.beginUpload(ih, "k", "u2"),
        recordPart: () => ledger.recordPart(ih, "k", "u1", { partNumber: 1, etag: etag(1), size: 1 }),
        recordComplete: () => ledger.recordComplete(ih, "k"),
        forgetObject: () => ledger.forgetObject(ih, "k"),
        forgetTorrent: () => ledger.forgetTorrent(ih),
      };
      for (const [name, call] of Object.entries(calls)) {
        const err = await expectRejection(call, CoordinationError, "BACKEND_UNAVAILABLE", `${name} after close`);
        expect(err.retryable, `${name} after close: retryable`).toBe(true);
      }
      // A second close is harmless: teardown closes every port again.
      await ledger.close();
    });

    done();
  });
}
