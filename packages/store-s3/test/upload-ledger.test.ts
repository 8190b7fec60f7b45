import { describe, expect, it } from "vitest";
import { MemoryUploadLedger } from "../src/index.js";

const IH = "ab".repeat(20);

describe("MemoryUploadLedger", () => {
  it("records an upload's parts in part order and forgets them when the object completes", async () => {
    const ledger = new MemoryUploadLedger();
    await ledger.beginUpload(IH, "dl/t/a.bin", "u1");
    await ledger.recordPart(IH, "dl/t/a.bin", "u1", { partNumber: 2, etag: "e2", size: 5 });
    await ledger.recordPart(IH, "dl/t/a.bin", "u1", { partNumber: 1, etag: "e1", size: 5 });
    // Recording a part again (a retried write) keeps one record of it.
    await ledger.recordPart(IH, "dl/t/a.bin", "u1", { partNumber: 1, etag: "e1", size: 5 });
    expect(await ledger.objects(IH)).toEqual([
      { key: "dl/t/a.bin", uploadId: "u1", parts: [{ partNumber: 1, etag: "e1", size: 5 }, { partNumber: 2, etag: "e2", size: 5 }], complete: false },
    ]);
    await ledger.recordComplete(IH, "dl/t/a.bin");
    expect(await ledger.objects(IH)).toEqual([{ key: "dl/t/a.bin", parts: [], complete: true }]);
  });

  it("ignores parts of an upload that is no longer the key's current one", async () => {
    const ledger = new MemoryUploadLedger();
    await ledger.beginUpload(IH, "k", "old");
    await ledger.beginUpload(IH, "k", "new");
    await ledger.recordPart(IH, "k", "old", { partNumber: 1, etag: "stale", size: 5 });
    await ledger.recordPart(IH, "other", "old", { partNumber: 1, etag: "nowhere", size: 5 });
    expect(await ledger.objects(IH)).toEqual([{ key: "k", uploadId: "new", parts: [], complete: false }]);
  });

  it("forgets one object or a whole torrent, and keeps torrents apart", async () => {
    const ledger = new MemoryUploadLedger();
    const other = "cd".repeat(20);
    await ledger.beginUpload(IH, "a", "u1");
    await ledger.recordComplete(IH, "b");
    await ledger.beginUpload(other, "a", "u2");
    await ledger.forgetObject(IH, "a");
    expect((await ledger.objects(IH)).map((o) => o.key)).toEqual(["b"]);
    await ledger.forgetTorrent(IH);
    expect(await ledger.objects(IH)).toEqual([]);
    expect((await ledger.objects(other)).map((o) => o.uploadId)).toEqual(["u2"]);
  });
});
