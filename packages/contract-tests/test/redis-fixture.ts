import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { respCommand, startRedisServer, type RedisServer } from "@shoal/testkit";

/**
 * One real redis-server per test file, on a free loopback port (never the shared 6379), and a
 * fresh key prefix per case. `server()` is valid inside cases (after beforeAll).
 */
export function redisPerFile(): { server(): RedisServer; newPrefix(): string; dropPrefix(prefix: string): Promise<number> } {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const server = (): RedisServer => {
    if (!redis) throw new Error("redis-server is not started: call server() inside a case");
    return redis;
  };
  return {
    server,
    newPrefix: () => `test-${randomBytes(6).toString("hex")}`,
    /** Deletes every key under `prefix` and returns how many there were. */
    async dropPrefix(prefix: string): Promise<number> {
      let cursor = "0";
      let dropped = 0;
      do {
        const [next, keys] = (await respCommand(server().url, ["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", "1000"])) as [string, string[]];
        if (keys.length > 0) dropped += (await respCommand(server().url, ["DEL", ...keys])) as number;
        cursor = next;
      } while (cursor !== "0");
      return dropped;
    },
  };
}
