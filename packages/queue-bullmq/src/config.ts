import { z } from "zod";
import { envNumber } from "@shoal/service-kit";

/**
 * Settings of the BullMQ job queue. Services load it with `loadConfig` under their own prefix
 * (for example `SHOAL_TRACKER_POLLER_QUEUE_REDIS_URL`); this package never reads the environment.
 */
export const bullQueueConfigSchema = z.object({
  /** The Redis server that holds the queue, as `redis://[user:password@]host:port[/db]`. */
  redisUrl: z.string().url().default("redis://127.0.0.1:6379"),
  /**
   * Key prefix of the queue. BullMQ's own default, so Bull Board, Taskforce and `bullmq` scripts
   * find the `torrents` queue without being told; tests set a random one per case.
   */
  prefix: z
    .string()
    .min(1)
    .regex(/^[^:]+$/, "must not contain ':' (BullMQ joins prefix, queue name and job id with ':')")
    .default("bull"),
  /**
   * Tries per job, the first included. A torrent job fails retryably when every tracker is
   * unreachable or Redis blinks; three tries ride out a short outage without retrying for hours a
   * torrent that will never work.
   */
  attempts: envNumber().int().min(1).default(3),
  /** How the wait between tries grows: `exponential` doubles `backoffDelayMs` each time. */
  backoffType: z.enum(["fixed", "exponential"]).default("exponential"),
  /**
   * Wait before the second try (30 s): long enough for a tracker or network blip to pass, short
   * next to a download that takes minutes to hours.
   */
  backoffDelayMs: envNumber().int().min(0).default(30_000),
  /** Jobs one `process` call runs at once when the caller passes no `concurrency`. */
  concurrency: envNumber().int().positive().default(1),
  /**
   * How long a worker's lock on a job lasts; BullMQ renews it every half of this while the job
   * runs. BullMQ's default of 30 s: a crashed worker's torrent moves on within about a minute
   * (lock plus `stalledIntervalMs`), and a busy event loop (hashing runs in threads, so seconds of
   * blocking would be a bug) does not lose a lock it still holds.
   */
  lockDurationMs: envNumber().int().positive().default(30_000),
  /** How often each worker looks for jobs whose lock lapsed (their worker died) and requeues them. */
  stalledIntervalMs: envNumber().int().positive().default(30_000),
  /**
   * Times a job may lose its worker to a crash before it fails for good. Two: a torrent that runs
   * for hours may see a node die once, but one that takes down two workers in a row is likely
   * the cause (memory, a pathological torrent) and should stop. A graceful shutdown hands the job
   * back without counting here.
   */
  maxStalledCount: envNumber().int().min(0).default(2),
  /**
   * Deadline of `add`, `cancel`, progress reports and the lookup in `waitUntilFinished`. Past it,
   * or at once while Redis is unreachable, they throw BACKEND_UNAVAILABLE (retryable) rather than
   * hang; 5 s is far above a healthy Redis round trip and short enough for a CLI user.
   */
  operationTimeoutMs: envNumber().int().positive().default(5_000),
  /**
   * How often a worker reads the cancel mark of each job it runs. Cancellation normally arrives
   * at once over pub/sub; this read only catches a message missed while the subscriber was
   * reconnecting, so a few seconds of delay is fine and costs one read per running job.
   */
  cancelPollIntervalMs: envNumber().int().positive().default(5_000),
  /**
   * How long closing a processor waits for its handlers to settle after their signals abort.
   * A handler that ignores its signal past this is abandoned: its lock lapses and another worker
   * takes the job over as a stalled one.
   */
  closeTimeoutMs: envNumber().int().positive().default(10_000),
});

export type BullQueueConfig = z.infer<typeof bullQueueConfigSchema>;
/** What callers pass: every key has a default. */
export type BullQueueConfigInput = z.input<typeof bullQueueConfigSchema>;
