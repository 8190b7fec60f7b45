import { QueueEvents } from "bullmq";
import { CoordinationError, type JobEvents, type JobProgress, type JobResult } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { QUEUE_NAME } from "./keys.js";

interface Waiter {
  readonly resolve: (result: JobResult) => void;
  readonly reject: (error: Error) => void;
}

export interface EventsHubOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  /**
   * The id of the newest entry of the queue's event stream when the hub was asked for (or `0-0`
   * for an empty stream). Reading from it rather than from "now" means no event produced after
   * that moment is missed while the reader connects.
   */
  readonly lastEventId: string;
  /** Rebuilds the error a job failed with, from Redis; see failure-record.ts. */
  readonly failureOf: (jobId: string, failedReason: string) => Promise<Error>;
  readonly log: Logger;
}

/**
 * One reader of the queue's event stream (BullMQ's QueueEvents on its own connection) serving
 * every `on` listener and `waitUntilFinished` waiter of a BullJobQueue. The stream is written by
 * BullMQ in whichever process a job moved, so listeners here see progress, completion and
 * failure of jobs run anywhere.
 *
 * Events are handed on in stream order: a failure needs a Redis read to rebuild its error, and
 * the events after it wait for that read, so no listener sees a job complete before an earlier
 * event of the stream.
 */
export class EventsHub {
  private readonly listeners = new Set<JobEvents>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly events: QueueEvents,
    private readonly options: EventsHubOptions,
  ) {
    events.on("progress", ({ jobId, data }) => {
      this.enqueue(async () => {
        for (const l of this.listeners) this.call(() => l.progress?.(jobId, data as JobProgress));
      });
    });
    events.on("completed", ({ jobId, returnvalue }) => {
      this.enqueue(async () => {
        const result = returnvalue as unknown as JobResult;
        this.settle(jobId, (w) => w.resolve(result));
        for (const l of this.listeners) this.call(() => l.completed?.(jobId, result));
      });
    });
    events.on("failed", ({ jobId, failedReason }) => {
      this.enqueue(async () => {
        const error = await options.failureOf(jobId, failedReason).catch(() => new Error(failedReason));
        this.settle(jobId, (w) => w.reject(error));
        for (const l of this.listeners) this.call(() => l.failed?.(jobId, error));
      });
    });
    // QueueEvents reconnects by itself and resumes after the last entry it read.
    events.on("error", (err) => options.log.warn({ err, op: "bullmq.queueEvents" }, "job event reader lost Redis"));
  }

  /** Starts the reader and resolves once its connection is ready. */
  static async start(options: EventsHubOptions, readyTimeoutMs: number): Promise<EventsHub> {
    const events = new QueueEvents(QUEUE_NAME, {
      // A blocking reader: BullMQ requires requests to wait for reconnection rather than fail.
      connection: { url: options.redisUrl, maxRetriesPerRequest: null },
      prefix: options.prefix,
      lastEventId: options.lastEventId,
    });
    const hub = new EventsHub(events, options);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        events.waitUntilReady(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`event reader not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
        }),
      ]);
    } catch (err) {
      await hub.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return hub;
  }

  on(events: JobEvents): () => void {
    this.listeners.add(events);
    return () => this.listeners.delete(events);
  }

  /**
   * Registers a waiter for `jobId`'s end. Register before reading the job's state: an end that
   * happens after the read is then seen as an event, and one before it in the state.
   */
  wait(jobId: string): { readonly finished: Promise<JobResult>; dispose(): void } {
    let waiter!: Waiter;
    const finished = new Promise<JobResult>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    // The caller may return from the job's state and never await this; an end that still
    // arrives as an event must not become an unhandled rejection.
    finished.catch(() => undefined);
    if (this.closed) {
      waiter.reject(closedBeforeEnd(jobId));
      return { finished, dispose: () => undefined };
    }
    let set = this.waiters.get(jobId);
    if (!set) this.waiters.set(jobId, (set = new Set()));
    set.add(waiter);
    const dispose = (): void => {
      set.delete(waiter);
      if (set.size === 0 && this.waiters.get(jobId) === set) this.waiters.delete(jobId);
    };
    return { finished, dispose };
  }

  /** Stops reading; pending waiters reject with QUEUE_CLOSED instead of waiting forever. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const [jobId, set] of this.waiters) {
      for (const w of set) w.reject(closedBeforeEnd(jobId));
    }
    this.waiters.clear();
    await this.events.close();
  }

  private settle(jobId: string, fn: (w: Waiter) => void): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    this.waiters.delete(jobId);
    for (const w of set) fn(w);
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain
      .then(async () => {
        if (!this.closed) await step();
      })
      .catch((err: unknown) => this.options.log.warn({ err }, "job event could not be handed on"));
  }

  /** A listener that throws must not stop the others or the stream. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.log.warn({ err }, "job event listener threw");
    }
  }
}

function closedBeforeEnd(jobId: string): CoordinationError {
  return new CoordinationError("QUEUE_CLOSED", `job queue closed before job ${jobId} finished`, { context: { jobId } });
}
