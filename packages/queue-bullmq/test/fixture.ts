import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll } from "vitest";
import { Queue } from "bullmq";
import type { JobProgress, JobResult, TorrentJobData } from "@shoal/coordination";
import { BullJobQueue, QUEUE_NAME, type BullQueueConfigInput } from "@shoal/queue-bullmq";
import { startRedisServer, type RedisServer } from "@shoal/testkit";
import { deleteKeysUnder } from "./redis-keys.js";

/**
 * A real redis-server for the test file and, per test, a fresh key prefix shared by every
 * BullJobQueue the test opens; each instance stands for one process of the cluster. Everything
 * opened is closed after the test and its keys removed.
 */
export function queueFixture(): {
  redis: () => RedisServer;
  prefix: () => string;
  open: (config?: BullQueueConfigInput) => BullJobQueue;
  /** A plain BullMQ Queue on the same queue, as Bull Board or a script of an operator sees it. */
  tooling: () => Queue<TorrentJobData, JobResult>;
} {
  let redis: RedisServer | undefined;
  let prefix = "";
  const opened: BullJobQueue[] = [];
  const plain: Queue[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((q) => q.close()));
    await Promise.all(plain.splice(0).map((q) => q.close()));
    if (redis && prefix) await deleteKeysUnder(redis.url, prefix);
    prefix = "";
  });

  const currentPrefix = (): string => (prefix ||= `t-${randomBytes(6).toString("hex")}`);
  return {
    redis: () => redis!,
    prefix: currentPrefix,
    open: (config = {}) => {
      const queue = new BullJobQueue({ config: { redisUrl: redis!.url, prefix: currentPrefix(), ...config } });
      opened.push(queue);
      return queue;
    },
    tooling: () => {
      const queue = new Queue<TorrentJobData, JobResult>(QUEUE_NAME, { connection: { url: redis!.url }, prefix: currentPrefix() });
      plain.push(queue);
      return queue;
    },
  };
}

export const jobData = (label: string): TorrentJobData => ({
  source: { kind: "url", url: `http://127.0.0.1:1/${label}.torrent` },
  destination: `bucket/${label}`,
  options: { selectFiles: [0, 2], seed: { ratio: 1.5 } },
});

export const resultFor = (data: TorrentJobData): JobResult => ({
  infoHash: "cd".repeat(20),
  name: data.destination,
  files: [{ path: "dir/file.bin", length: 42 }],
  totalBytes: 42,
  resumedPieces: 0,
  downloadedBytes: 42,
  uploadedBytes: 7,
});

export const progress = (storedPieces: number): JobProgress => ({
  infoHash: "cd".repeat(20),
  name: "adapter",
  totalBytes: 1000,
  storedBytes: storedPieces * 100,
  pieces: 10,
  storedPieces,
  peers: 4,
  downloadRateBytesPerSec: 2048,
  uploadRateBytesPerSec: 16,
  downloadedBytes: storedPieces * 100,
  uploadedBytes: 5,
});

/** Resolves when `signal` aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** The error `p` rejects with; fails the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
