import type { TorrentCatalog } from "@shoal/coordination";
import { torrentCatalogContract } from "@shoal/contract-tests";
import { RedisCatalog } from "@shoal/coordination-redis";
import { redisPerFile } from "./redis-fixture.js";

const redis = redisPerFile();
const prefixes = new WeakMap<TorrentCatalog, string>();

torrentCatalogContract({
  name: "RedisCatalog",
  setup: async () => {
    const prefix = redis.newPrefix();
    const catalog = new RedisCatalog({ url: redis.server().url, prefix });
    prefixes.set(catalog, prefix);
    return catalog;
  },
  teardown: async (catalog) => {
    await catalog.close();
    await redis.dropPrefix(prefixes.get(catalog)!);
  },
});
