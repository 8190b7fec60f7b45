import { Queue } from "bullmq";
import { Redis } from "ioredis";
import {
  CoordinationError,
  type JobContext,
  type JobCounts,
  type JobEvents,
  type JobInfo,
  type JobQueue,
  type JobResult,
  type TorrentJobData,
} from "@shoal/coordination";
import { silentLogger, type Logger } from "@shoal/service-kit";
import { withRedis, unavailable, type QueueAccess } from "./backend.js";
import { CancelWatch } from "./cancel-watch.js";
import { bullQueueConfigSchema, type BullQueueConfig, type BullQueueConfigInput } from "./config.js";
import { EventsHub } from "./events-hub.js";
import { rebuildFailure } from "./failure-record.js";
import { cancelJob, defineCancelScript, type CancelScript } from "./job-cancel.js";
import { checkJobId, jobCounts, jobInfo, listJobs } from "./job-info.js";
import { JOB_NAME, QUEUE_NAME } from "./keys.js";
import { startProcessor } from "./processor.js";

export interface BullJobQueueOptions {
  /** Parsed with `bullQueueConfigSchema`; absent keys take their defaults. */
  readonly config?: BullQueueConfigInput;
  readonly logger?: Logger;
}

/**
 * The `torrents` JobQueue on BullMQ. Each instance is one participant (a CLI, a tracker-poller
 * process); any number of them in any number of processes share the queue through Redis.
 * Connections: one for commands (shared with BullMQ's Queue), plus a reader of the event stream
 * once `on` or `waitUntilFinished` is used, plus per `process` call a BullMQ Worker (two) and,
 * once, a cancel subscriber.
 */
export class BullJobQueue implements JobQueue {
  readonly config: BullQueueConfig;
  private readonly log: Logger;
  private readonly conn: Redis;
  private readonly cancelScript: CancelScript;
  /** How the operations in other modules (cancel, job info) reach Redis and BullMQ's Queue. */
  private readonly access: QueueAccess;
  private readonly processors = new Set<{ close(): Promise<void> }>();
  private queue: Promise<Queue<TorrentJobData, JobResult>> | undefined;
  private hub: Promise<EventsHub> | undefined;
  private watch: Promise<CancelWatch> | undefined;
  private readonly listeners = new Set<JobEvents>();
  private closing: Promise<void> | undefined;

  constructor(options: BullJobQueueOptions = {}) {
    this.config = bullQueueConfigSchema.parse(options.config ?? {});
    this.log = (options.logger ?? silentLogger()).child({ component: "queue-bullmq" });
    // No offline queue: a command sent while Redis is away fails at once and becomes
    // BACKEND_UNAVAILABLE, instead of running whenever Redis returns (a second copy of a job
    // added without a jobId, say). withRedis waits for readiness within each deadline instead.
    this.conn = new Redis(this.config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.conn.on("error", (err) => this.log.warn({ err, op: "redis.connect" }, "job queue lost Redis"));
    this.cancelScript = defineCancelScript(this.conn);
    this.access = { redis: (op, fn) => this.redis(op, fn), bullQueue: () => this.bullQueue() };
  }

  async add(data: TorrentJobData, options: { jobId?: string } = {}): Promise<string> {
    this.ensureOpen("add");
    if (options.jobId !== undefined) checkJobId(options.jobId);
    await this.hubSettled();
    const job = await this.redis("bullmq.add", async () =>
      (await this.bullQueue()).add(JOB_NAME, data, {
        ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
        attempts: this.config.attempts,
        backoff: { type: this.config.backoffType, delay: this.config.backoffDelayMs },
      }),
    );
    return job.id!;
  }

  async process(
    handler: (data: TorrentJobData, context: JobContext) => Promise<JobResult>,
    options: { concurrency?: number } = {},
  ): Promise<{ close(): Promise<void> }> {
    this.ensureOpen("process");
    await this.hubSettled();
    const watch = await this.cancelWatch();
    const processor = await startProcessor(
      {
        config: this.config,
        watch,
        log: this.log,
        reportProgress: (jobId, progress) =>
          this.redis("bullmq.updateProgress", async () => (await this.bullQueue()).updateJobProgress(jobId, progress)),
        appendLog: async (jobId, line) => {
          await this.redis("bullmq.addJobLog", async () => (await this.bullQueue()).addJobLog(jobId, line));
        },
      },
      handler,
      options.concurrency ?? this.config.concurrency,
    );
    if (this.closing) {
      // close() began while the worker connected and could not see it.
      await processor.close();
      this.ensureOpen("process");
    }
    const handle = {
      close: async (): Promise<void> => {
        this.processors.delete(handle);
        await processor.close();
      },
    };
    this.processors.add(handle);
    return handle;
  }

  async waitUntilFinished(jobId: string): Promise<JobResult> {
    this.ensureOpen("waitUntilFinished");
    const hub = await this.eventsHub();
    const waiter = hub.wait(jobId);
    try {
      const queue = await this.bullQueue();
      const state = await this.redis("bullmq.getState", () => queue.getJobState(jobId));
      if (state === "completed" || state === "failed") {
        const job = await this.redis("bullmq.getJob", () => queue.getJob(jobId));
        if (job) {
          if (state === "completed") return job.returnvalue;
          throw await this.failureOf(jobId, job.failedReason);
        }
      }
      if (state === "unknown" || state === "completed" || state === "failed") {
        throw new CoordinationError("UNKNOWN_TORRENT", `no job ${jobId} in queue ${QUEUE_NAME}`, { context: { jobId } });
      }
      return await waiter.finished;
    } finally {
      waiter.dispose();
    }
  }

  /**
   * Cancels the job wherever it is. One that has not started (or waits for a retry, or lost its
   * crashed worker) fails here at once with the cancel error; a running one gets its signal
   * aborted in whichever process runs it and ends as the processor wrapper decides. Unknown and
   * finished jobs are left alone.
   */
  async cancel(jobId: string): Promise<void> {
    this.ensureOpen("cancel");
    await cancelJob({ ...this.access, config: this.config, cancelScript: this.cancelScript, localWatch: () => this.watch }, jobId);
  }

  async get(jobId: string): Promise<JobInfo | undefined> {
    this.ensureOpen("get");
    return jobInfo(this.access, jobId);
  }

  async list(options: { limit?: number } = {}): Promise<JobInfo[]> {
    this.ensureOpen("list");
    return listJobs(this.access, options);
  }

  /** BullMQ's global concurrency of the queue: its workers read it each time they take a job. */
  async setActiveLimit(limit: number | null): Promise<void> {
    this.ensureOpen("setActiveLimit");
    if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
      throw new CoordinationError("BAD_ARGUMENT", `active job limit must be a whole number of 1 or more, got ${limit}`, { context: { limit } });
    }
    const queue = await this.bullQueue();
    await this.redis("bullmq.setGlobalConcurrency", () => (limit === null ? queue.removeGlobalConcurrency() : queue.setGlobalConcurrency(limit)));
  }

  async activeLimit(): Promise<number | null> {
    this.ensureOpen("activeLimit");
    const queue = await this.bullQueue();
    return this.redis("bullmq.getGlobalConcurrency", () => queue.getGlobalConcurrency());
  }

  /**
   * BullMQ's own counts (one Lua call over its lists and sets). Its states the port does not
   * name are jobs not yet taken: `prioritized` and `waiting-children` count as waiting (BullMQ 6 keeps a paused queue's jobs in its wait list).
   */
  async counts(): Promise<JobCounts> {
    this.ensureOpen("count jobs");
    return jobCounts(this.access);
  }

  on(events: JobEvents): () => void {
    this.ensureOpen("on");
    this.listeners.add(events);
    this.startHubForListeners();
    return () => this.listeners.delete(events);
  }

  /**
   * Closes the processors (their handlers' signals abort with "processor closing", and a job a
   * handler gives up is handed back to the queue), then the event reader (pending
   * `waitUntilFinished` calls reject with QUEUE_CLOSED) and every connection. Later calls throw
   * QUEUE_CLOSED; a second close is harmless.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.allSettled([...this.processors].map((p) => p.close()));
    const settled = await Promise.allSettled([this.hub, this.watch, this.queue]);
    const [hub, watch, queue] = settled.map((s) => (s.status === "fulfilled" ? s.value : undefined)) as [
      EventsHub | undefined,
      CancelWatch | undefined,
      Queue | undefined,
    ];
    await Promise.allSettled([hub?.close(), watch?.close(), queue?.close()]);
    // QUIT lets pending replies arrive; a Redis that is down cannot answer it, so do not wait.
    if (this.conn.status === "ready") await this.conn.quit().catch(() => this.conn.disconnect());
    else this.conn.disconnect();
  }

  private ensureOpen(op: string): void {
    if (this.closing) throw new CoordinationError("QUEUE_CLOSED", `job queue is closed; cannot ${op}`, { context: { op } });
  }

  /**
   * Runs one Redis operation within the deadline. One that fails because close() ran meanwhile
   * (its connection ended) reports QUEUE_CLOSED, the cause, rather than an outage.
   */
  private async redis<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRedis(this.conn, op, this.config.operationTimeoutMs, fn);
    } catch (err) {
      if (this.closing) {
        throw new CoordinationError("QUEUE_CLOSED", `job queue closed during ${op}`, { context: { op }, cause: err });
      }
      throw err;
    }
  }

  /**
   * BullMQ's Queue on the command connection, made once Redis first answers: its start-up
   * (version check, scripts) fails for good if Redis is away, so a failed start is dropped and
   * the next call makes a new one.
   */
  private bullQueue(): Promise<Queue<TorrentJobData, JobResult>> {
    this.queue ??= this.redis("bullmq.connect", async () => {
      const queue = new Queue<TorrentJobData, JobResult>(QUEUE_NAME, { connection: this.conn, prefix: this.config.prefix });
      queue.on("error", (err) => this.log.warn({ err, op: "bullmq.queue" }, "job queue error"));
      try {
        await queue.waitUntilReady();
        return queue;
      } catch (err) {
        await queue.close().catch(() => undefined);
        throw err;
      }
    });
    this.queue.catch(() => (this.queue = undefined));
    return this.queue;
  }

  /** The event reader, started on first need from the stream's current end. */
  private eventsHub(): Promise<EventsHub> {
    this.hub ??= (async () => {
      const queue = await this.bullQueue();
      const newest = await this.redis("redis.xrevrange", () => this.conn.xrevrange(queue.keys["events"]!, "+", "-", "COUNT", 1));
      const hub = await EventsHub.start(
        {
          redisUrl: this.config.redisUrl,
          prefix: this.config.prefix,
          lastEventId: newest[0]?.[0] ?? "0-0",
          failureOf: (jobId, failedReason) => this.failureOf(jobId, failedReason),
          log: this.log,
        },
        this.config.operationTimeoutMs,
      ).catch((err: unknown) => {
        throw unavailable("bullmq.queueEvents", "the event reader did not connect", err);
      });
      hub.on({
        progress: (jobId, progress) => this.emit((l) => l.progress?.(jobId, progress)),
        completed: (jobId, result) => this.emit((l) => l.completed?.(jobId, result)),
        failed: (jobId, error) => this.emit((l) => l.failed?.(jobId, error)),
      });
      if (this.closing) await hub.close();
      return hub;
    })();
    this.hub.catch(() => (this.hub = undefined));
    return this.hub;
  }

  /**
   * Starts the event reader for `on` listeners, which cannot wait for it: while Redis is away
   * the start is tried again every `operationTimeoutMs` as long as someone listens.
   */
  private startHubForListeners(): void {
    this.eventsHub().catch((err: unknown) => {
      this.log.warn({ err, op: "bullmq.queueEvents" }, "job event reader did not start; trying again");
      const retry = setTimeout(() => {
        if (!this.closing && this.listeners.size > 0) this.startHubForListeners();
      }, this.config.operationTimeoutMs);
      retry.unref();
    });
  }

  /**
   * Waits for an event reader that is starting, so events of what this instance does next
   * (add a job, run one) come after the point the reader starts from.
   */
  private async hubSettled(): Promise<void> {
    await this.hub?.catch(() => undefined);
  }

  private emit(fn: (l: JobEvents) => void): void {
    for (const l of this.listeners) {
      try {
        fn(l);
      } catch (err) {
        this.log.warn({ err }, "job event listener threw");
      }
    }
  }

  private cancelWatch(): Promise<CancelWatch> {
    this.watch ??= (async () => {
      const queue = await this.bullQueue();
      const watch = new CancelWatch({
        redisUrl: this.config.redisUrl,
        prefix: this.config.prefix,
        pollIntervalMs: this.config.cancelPollIntervalMs,
        conn: this.conn,
        jobKey: (jobId) => queue.toKey(jobId),
        log: this.log,
      });
      try {
        await this.redis("redis.subscribe", () => watch.start());
      } catch (err) {
        await watch.close();
        throw err;
      }
      return watch;
    })();
    this.watch.catch(() => (this.watch = undefined));
    return this.watch;
  }

  /** The error job `jobId` failed with: its message from BullMQ, the rest from its log. */
  private async failureOf(jobId: string, failedReason: string): Promise<Error> {
    const queue = await this.bullQueue();
    const { logs } = await this.redis("bullmq.getJobLogs", () => queue.getJobLogs(jobId, 0, -1, false));
    return rebuildFailure(failedReason, logs);
  }
}
