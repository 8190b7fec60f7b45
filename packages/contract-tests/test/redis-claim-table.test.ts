import type { ClaimTable } from "@shoal/coordination";
import { claimTableContract } from "@shoal/contract-tests";
import { RedisClaimTable } from "@shoal/coordination-redis";
import { redisPerFile } from "./redis-fixture.js";

// A real redis-server for this file; each case gets its own key prefix, deleted in teardown.
// Leases run on an injected clock passed to the scripts, so the suite never waits for one to
// lapse; a test of the adapter's own package checks the server's clock.
const redis = redisPerFile();
const prefixes = new WeakMap<ClaimTable, string>();
let nowMs = 0;

claimTableContract({
  name: "RedisClaimTable",
  setup: async () => {
    nowMs = 1_000_000;
    const prefix = redis.newPrefix();
    const table = new RedisClaimTable({ url: redis.server().url, prefix }, { clock: () => nowMs });
    prefixes.set(table, prefix);
    return table;
  },
  teardown: async (table) => {
    await table.close();
    await redis.dropPrefix(prefixes.get(table)!);
  },
  advanceTime: async (ms) => {
    nowMs += ms;
  },
  // A run is at most about 160 round trips to a local server (40 operations, each one to three
  // calls and a snapshot; 20-40 ms), so the memory table's 100 runs cost 1-3 s here (measured,
  // more on a loaded machine): the same coverage at a price CI does not notice.
  propertyRuns: 100,
});
