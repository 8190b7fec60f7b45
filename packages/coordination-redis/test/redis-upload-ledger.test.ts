import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { partsKey, torrentKeys } from "@shoal/coordination";
import { RedisClaimTable, RedisUploadLedger } from "@shoal/coordination-redis";
import { respCommand } from "@shoal/testkit";
import { redisPerFile } from "./redis-per-file.js";

const redis = redisPerFile();
const newInfoHash = () => randomBytes(20).toString("hex");

describe("RedisUploadLedger on a real server", () => {
  const open: { close(): Promise<void> }[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const port of open.splice(0)) await port.close();
    for (const prefix of prefixes.splice(0)) await redis.dropPrefix(prefix);
  });
  const adapters = () => {
    const prefix = redis.newPrefix();
    prefixes.push(prefix);
    const ledger = new RedisUploadLedger({ url: redis.server().url, prefix });
    const table = new RedisClaimTable({ url: redis.server().url, prefix }, { clock: () => 0 });
    open.push(ledger, table);
    return { ledger, table, prefix };
  };

  it("keeps a torrent's records under its hash tag, and forgetTorrent leaves no key behind", async () => {
    const { ledger, prefix } = adapters();
    const ih = newInfoHash();
    // An object key with braces must not move its parts hash out of the torrent's slot.
    const odd = "dl/{other}/b.bin";
    await ledger.beginUpload(ih, "dl/a.bin", "u1");
    await ledger.recordPart(ih, "dl/a.bin", "u1", { partNumber: 1, etag: '"e1"', size: 5 });
    await ledger.beginUpload(ih, odd, "u2");
    await ledger.recordPart(ih, odd, "u2", { partNumber: 1, etag: '"e2"', size: 5 });
    await ledger.recordComplete(ih, "dl/small.txt");
    const k = torrentKeys(prefix, ih);
    expect(await redis.keys(`${prefix}:*`)).toEqual([k.completed, partsKey(prefix, ih, "dl/a.bin"), partsKey(prefix, ih, odd), k.uploads].sort());
    for (const key of await redis.keys(`${prefix}:*`)) expect(key.slice(key.indexOf("{") + 1, key.indexOf("}")), key).toBe(ih);

    // Completing and forgetting objects take their parts hashes with them.
    await ledger.recordComplete(ih, "dl/a.bin");
    expect(await redis.keys(`${prefix}:*`)).toEqual([k.completed, partsKey(prefix, ih, odd), k.uploads].sort());
    await ledger.forgetTorrent(ih);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it("outlives the claim table's deleteTorrent: open uploads stay findable so they can be resumed or aborted", async () => {
    const { ledger, table, prefix } = adapters();
    const ih = newInfoHash();
    await table.createTorrent(ih, 4, []);
    await ledger.beginUpload(ih, "dl/a.bin", "u1");
    await table.deleteTorrent(ih);
    expect(await ledger.objects(ih)).toEqual([{ key: "dl/a.bin", uploadId: "u1", parts: [], complete: false }]);
    expect(await redis.keys(`${prefix}:*`)).toEqual([torrentKeys(prefix, ih).uploads]);
  });

  it("reads a record it did not write as a broken invariant, naming it", async () => {
    const { ledger, prefix } = adapters();
    const ih = newInfoHash();
    await ledger.beginUpload(ih, "dl/a.bin", "u1");
    await respCommand(redis.server().url, ["HSET", partsKey(prefix, ih, "dl/a.bin"), "1", "not json"]);
    await expect(ledger.objects(ih)).rejects.toMatchObject({ code: "INVARIANT_BROKEN", message: expect.stringMatching(/part 1 of dl\/a\.bin/) });
  });
});
