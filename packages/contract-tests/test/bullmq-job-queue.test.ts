import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { JobQueue } from "@shoal/coordination";
import { jobQueueContract } from "@shoal/contract-tests";
import { BullJobQueue } from "@shoal/queue-bullmq";
import { respCommand, startRedisServer, type RedisServer, type RespReply } from "@shoal/testkit";

// One real redis-server for this file, on a free port; each case gets its own key prefix.
let redis: RedisServer;
const prefixes = new WeakMap<JobQueue, string>();
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

jobQueueContract({
  name: "BullJobQueue",
  setup: async () => {
    const queue = new BullJobQueue({
      config: {
        redisUrl: redis.url,
        prefix: `contract-${randomBytes(6).toString("hex")}`,
        // Two tries with no back-off: the suite needs one quick retry of a retryable failure.
        attempts: 2,
        backoffType: "fixed",
        backoffDelayMs: 0,
      },
    });
    prefixes.set(queue, queue.config.prefix);
    return queue;
  },
  teardown: async (queue) => {
    await queue.close();
    let cursor = "0";
    do {
      const [next, keys] = (await respCommand(redis.url, ["SCAN", cursor, "MATCH", `${prefixes.get(queue)}:*`, "COUNT", "1000"])) as [
        string,
        RespReply[],
      ];
      for (const key of keys as string[]) await respCommand(redis.url, ["DEL", key]);
      cursor = next;
    } while (cursor !== "0");
  },
});
