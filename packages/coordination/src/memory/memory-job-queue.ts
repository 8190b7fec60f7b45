import { CoordinationError } from "../errors.js";
import type { JobContext, JobCounts, JobEvents, JobInfo, JobProgress, JobQueue, JobResult, TorrentJobData } from "../ports/job-queue.js";

interface JobEntry {
  readonly id: string;
  readonly data: TorrentJobData;
  readonly abort: AbortController;
  cancelled: boolean;
  attemptsMade: number;
  state: "waiting" | "active" | "completed" | "failed";
  result?: JobResult;
  error?: Error;
  progress?: JobProgress;
  readonly createdAt: number;
  finishedAt?: number;
  readonly waiters: { resolve(r: JobResult): void; reject(e: Error): void }[];
}

type Handler = (data: TorrentJobData, context: JobContext) => Promise<JobResult>;

/**
 * The in-process JobQueue of embedded mode, with BullMQ's contract: jobs wait until a processor
 * takes them, a retryable failure is tried again up to `attempts` times, a permanent one fails the
 * job at once, and cancel aborts the running handler.
 */
export class MemoryJobQueue implements JobQueue {
  private readonly jobs = new Map<string, JobEntry>();
  private readonly listeners = new Set<JobEvents>();
  private handler: Handler | undefined;
  private concurrency = 1;
  private limit: number | null = null;
  private active = 0;
  private seq = 0;
  private closed = false;

  constructor(private readonly attempts = 1) {}

  async add(data: TorrentJobData, options: { jobId?: string } = {}): Promise<string> {
    if (this.closed) throw new CoordinationError("QUEUE_CLOSED", "job queue is closed");
    const id = options.jobId ?? String(++this.seq);
    if (this.jobs.has(id)) return id;
    this.jobs.set(id, { id, data, abort: new AbortController(), attemptsMade: 0, state: "waiting", waiters: [], cancelled: false, createdAt: Date.now() });
    this.pump();
    return id;
  }

  async process(handler: Handler, options: { concurrency?: number } = {}): Promise<{ close(): Promise<void> }> {
    this.handler = handler;
    this.concurrency = options.concurrency ?? 1;
    this.pump();
    return {
      close: async () => {
        this.handler = undefined;
        for (const j of this.jobs.values()) if (j.state === "active") j.abort.abort(new Error("processor closing"));
      },
    };
  }

  waitUntilFinished(jobId: string): Promise<JobResult> {
    const j = this.jobs.get(jobId);
    if (!j) return Promise.reject(new CoordinationError("UNKNOWN_TORRENT", `no job ${jobId}`));
    if (j.state === "completed") return Promise.resolve(j.result!);
    if (j.state === "failed") return Promise.reject(j.error!);
    return new Promise((resolve, reject) => j.waiters.push({ resolve, reject }));
  }

  async cancel(jobId: string): Promise<void> {
    const j = this.jobs.get(jobId);
    if (!j) return;
    j.cancelled = true;
    j.abort.abort(new Error(`job ${jobId} cancelled`));
    if (j.state === "waiting") this.finish(j, undefined, new CoordinationError("QUEUE_CLOSED", `job ${jobId} cancelled`));
  }

  async get(jobId: string): Promise<JobInfo | undefined> {
    const j = this.jobs.get(jobId);
    return j ? infoOf(j) : undefined;
  }

  async list(options: { limit?: number } = {}): Promise<JobInfo[]> {
    return [...this.jobs.values()].reverse().slice(0, options.limit ?? 50).map(infoOf);
  }

  async setActiveLimit(limit: number | null): Promise<void> {
    if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
      throw new CoordinationError("BAD_ARGUMENT", `active job limit must be a whole number of 1 or more, got ${limit}`);
    }
    this.limit = limit;
    this.pump();
  }

  async activeLimit(): Promise<number | null> {
    return this.limit;
  }

  async counts(): Promise<JobCounts> {
    if (this.closed) throw new CoordinationError("QUEUE_CLOSED", "job queue is closed; cannot count jobs");
    // Nothing here is delayed: a retry waits in `waiting` at once.
    const n = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    for (const j of this.jobs.values()) n[j.state]++;
    return n;
  }

  on(events: JobEvents): () => void {
    this.listeners.add(events);
    return () => this.listeners.delete(events);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.jobs.values()) j.abort.abort(new Error("queue closing"));
  }

  private pump(): void {
    if (!this.handler) return;
    for (const j of this.jobs.values()) {
      if (this.active >= Math.min(this.concurrency, this.limit ?? Infinity)) return;
      if (j.state !== "waiting") continue;
      void this.runJob(j, this.handler);
    }
  }

  private async runJob(j: JobEntry, handler: Handler): Promise<void> {
    j.state = "active";
    this.active++;
    j.attemptsMade++;
    const context: JobContext = {
      jobId: j.id,
      signal: j.abort.signal,
      cancelled: () => j.cancelled,
      reportProgress: async (progress) => {
        j.progress = progress;
        for (const l of this.listeners) l.progress?.(j.id, progress);
      },
    };
    try {
      const result = await handler(j.data, context);
      this.finish(j, result, undefined);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const retryable = (error as { retryable?: boolean }).retryable !== false;
      if (retryable && j.attemptsMade < this.attempts && !j.abort.signal.aborted) j.state = "waiting";
      else this.finish(j, undefined, error);
    } finally {
      this.active--;
      this.pump();
    }
  }

  private finish(j: JobEntry, result: JobResult | undefined, error: Error | undefined): void {
    j.finishedAt = Date.now();
    if (result) {
      j.state = "completed";
      j.result = result;
      for (const w of j.waiters) w.resolve(result);
      for (const l of this.listeners) l.completed?.(j.id, result);
    } else {
      j.state = "failed";
      j.error = error!;
      for (const w of j.waiters) w.reject(error!);
      for (const l of this.listeners) l.failed?.(j.id, error!);
    }
    j.waiters.length = 0;
  }
}

function infoOf(j: JobEntry): JobInfo {
  return {
    id: j.id,
    state: j.state,
    data: j.data,
    attemptsMade: j.attemptsMade,
    createdAt: j.createdAt,
    ...(j.progress ? { progress: j.progress } : {}),
    ...(j.result ? { result: j.result } : {}),
    ...(j.error ? { failedReason: j.error.message } : {}),
    ...(j.finishedAt !== undefined ? { finishedAt: j.finishedAt } : {}),
  };
}
