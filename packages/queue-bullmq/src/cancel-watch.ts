import { Redis } from "ioredis";
import { CoordinationError } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { cancelChannel, DEFERRED_FAILURE_FIELD } from "./keys.js";

/** Why a running job's signal aborted; the processor wrapper decides the job's end by it. */
export type StopKind = "cancelled" | "closing" | "lock_lost";

/** The cancel error every process agrees on, for a waiting job and a running one alike. */
export function cancelError(jobId: string, message = `job ${jobId} cancelled`): CoordinationError {
  return new CoordinationError("QUEUE_CLOSED", message, { context: { jobId } });
}

/** One job running in this process, with the signal its handler sees. */
export class RunningJob {
  readonly controller = new AbortController();
  private kind: StopKind | undefined;

  constructor(
    readonly jobId: string,
    /** The processor (worker) running it, so closing one processor stops only its own jobs. */
    readonly owner: object,
  ) {}

  get stop(): StopKind | undefined {
    return this.kind;
  }

  /**
   * Aborts the signal once; a later cancel still overrides a closing, so a job cancelled while
   * its processor shuts down fails as cancelled instead of being handed to another worker.
   */
  abort(kind: StopKind, reason: Error): void {
    if (this.kind === undefined) {
      this.kind = kind;
      this.controller.abort(reason);
    } else if (this.kind === "closing" && kind === "cancelled") {
      this.kind = kind;
    }
  }
}

export interface CancelWatchOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly pollIntervalMs: number;
  /** The command connection, for reading cancel marks. */
  readonly conn: Redis;
  readonly jobKey: (jobId: string) => string;
  readonly log: Logger;
}

/**
 * Delivers `cancel` to jobs running in this process. BullMQ can abort a job only inside the
 * worker running it, so a cancel issued anywhere marks the job in Redis (BullMQ's
 * deferred-failure field) and publishes its id on the cancel channel; this watch subscribes to
 * the channel and aborts the job's signal at once. Pub/sub drops messages sent while a
 * subscriber is disconnected, so the watch also reads the mark of every running job when its
 * subscriber reconnects, every `pollIntervalMs`, and when a job starts.
 */
export class CancelWatch {
  private readonly running = new Map<string, RunningJob>();
  private readonly subscriber: Redis;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: CancelWatchOptions) {
    // Its own connection: a subscribed connection can run no other command.
    this.subscriber = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.subscriber.on("message", (_channel: string, jobId: string) => this.cancelLocal(jobId));
    this.subscriber.on("error", (err) => options.log.warn({ err, op: "redis.subscribe" }, "cancel subscriber lost Redis"));
    // After a reconnect (ioredis subscribes again by itself) a cancel may have been missed.
    this.subscriber.on("ready", () => void this.poll());
    this.timer = setInterval(() => void this.poll(), options.pollIntervalMs);
    this.timer.unref();
  }

  /** Connects and subscribes; resolves once cancels published from now on reach this process. */
  async start(): Promise<void> {
    await this.subscriber.connect();
    await this.subscriber.subscribe(cancelChannel(this.options.prefix));
  }

  track(jobId: string, owner: object): RunningJob {
    const run = new RunningJob(jobId, owner);
    this.running.set(jobId, run);
    return run;
  }

  untrack(run: RunningJob): void {
    if (this.running.get(run.jobId) === run) this.running.delete(run.jobId);
  }

  /** The jobs `owner` runs now. */
  runsOf(owner: object): RunningJob[] {
    return [...this.running.values()].filter((r) => r.owner === owner);
  }

  cancelLocal(jobId: string, message?: string): void {
    this.running.get(jobId)?.abort("cancelled", cancelError(jobId, message));
  }

  /** Reads one job's cancel mark and aborts it if set; a read that fails is left to the next poll. */
  async checkMark(run: RunningJob): Promise<void> {
    try {
      const mark = await this.options.conn.hget(this.options.jobKey(run.jobId), DEFERRED_FAILURE_FIELD);
      if (mark !== null) run.abort("cancelled", cancelError(run.jobId, mark));
    } catch (err) {
      this.options.log.debug({ err, op: "redis.hget", jobId: run.jobId }, "could not read a cancel mark");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // No need to unsubscribe first: disconnecting ends the subscription with the connection.
    this.subscriber.disconnect();
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.running.values()].map((run) => this.checkMark(run)));
  }
}
