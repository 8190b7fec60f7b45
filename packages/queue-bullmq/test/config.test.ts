import { describe, expect, it } from "vitest";
import { bullQueueConfigSchema } from "@shoal/queue-bullmq";

describe("bullQueueConfigSchema", () => {
  it("fills every key with its default, BullMQ's own prefix included", () => {
    expect(bullQueueConfigSchema.parse({})).toEqual({
      redisUrl: "redis://127.0.0.1:6379",
      prefix: "bull",
      attempts: 3,
      backoffType: "exponential",
      backoffDelayMs: 30_000,
      concurrency: 1,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 2,
      operationTimeoutMs: 5_000,
      cancelPollIntervalMs: 5_000,
      closeTimeoutMs: 10_000,
    });
  });

  it("takes numbers as the strings environment variables give", () => {
    expect(bullQueueConfigSchema.parse({ attempts: "5", lockDurationMs: "60000" })).toMatchObject({ attempts: 5, lockDurationMs: 60_000 });
  });

  it("refuses a prefix with ':' and a zero attempt count, naming the key", () => {
    const prefix = bullQueueConfigSchema.safeParse({ prefix: "a:b" });
    expect(prefix.success).toBe(false);
    expect(prefix.error?.issues[0]?.path).toEqual(["prefix"]);
    const attempts = bullQueueConfigSchema.safeParse({ attempts: 0 });
    expect(attempts.error?.issues[0]?.path).toEqual(["attempts"]);
  });
});
