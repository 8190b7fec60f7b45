import type { UploadLedger } from "@shoal/coordination";
import { uploadLedgerContract } from "@shoal/contract-tests";
import { RedisUploadLedger } from "@shoal/coordination-redis";
import { redisPerFile } from "./redis-fixture.js";

// A real redis-server for this file; each case gets its own key prefix, deleted in teardown.
const redis = redisPerFile();
const prefixes = new WeakMap<UploadLedger, string>();

uploadLedgerContract({
  name: "RedisUploadLedger",
  setup: async () => {
    const prefix = redis.newPrefix();
    const ledger = new RedisUploadLedger({ url: redis.server().url, prefix });
    prefixes.set(ledger, prefix);
    return ledger;
  },
  teardown: async (ledger) => {
    await ledger.close();
    await redis.dropPrefix(prefixes.get(ledger)!);
  },
  // Another connection under the same prefix: what a storage-writer restarted elsewhere opens.
  reopen: async (ledger) => new RedisUploadLedger({ url: redis.server().url, prefix: prefixes.get(ledger)! }),
});
