import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { respCommand, startRedisServer, type RedisServer, type RedisServerOptions } from "@shoal/testkit";

/** One real redis-server per test file on a free loopback port, and helpers over it. */
export function redisPerFile(opts: RedisServerOptions = {}) {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedisServer(opts);
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const server = (): RedisServer => {
    if (!redis) throw new Error("redis-server is not started: call server() inside a case");
    return redis;
  };
  /** Every key under `pattern`, read behind the adapter's back. */
  const keys = async (pattern: string): Promise<string[]> => {
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = (await respCommand(server().url, ["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"])) as [string, string[]];
      out.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    return out.sort();
  };
  return {
    server,
    keys,
    newPrefix: () => `test-${randomBytes(6).toString("hex")}`,
    /** Deletes every key under `prefix`. */
    async dropPrefix(prefix: string): Promise<void> {
      const found = await keys(`${prefix}:*`);
      if (found.length > 0) await respCommand(server().url, ["DEL", ...found]);
    },
  };
}
