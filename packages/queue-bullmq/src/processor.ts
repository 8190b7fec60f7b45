import { UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import { CoordinationError, type JobContext, type JobProgress, type JobResult, type TorrentJobData } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { BullQueueConfig } from "./config.js";
import { type CancelWatch, type RunningJob } from "./cancel-watch.js";
import { failureLogLine } from "./failure-record.js";
import { QUEUE_NAME } from "./keys.js";

export type Handler = (data: TorrentJobData, context: JobContext) => Promise<JobResult>;

export interface ProcessorDeps {
  readonly config: BullQueueConfig;
  readonly watch: CancelWatch;
  readonly log: Logger;
  /** Writes progress through the queue's command connection, within the operation deadline. */
  readonly reportProgress: (jobId: string, progress: JobProgress) => Promise<void>;
  /** Appends a line to the job's log, within the operation deadline. */
  readonly appendLog: (jobId: string, line: string) => Promise<void>;
}

/**
 * Runs `handler` on jobs of the `torrents` queue with a BullMQ Worker, and resolves once the
 * worker is connected. How a handler's end maps onto BullMQ:
 *
 * - A result completes the job (it becomes the return value), also after an abort.
 * - After `cancel`, any throw fails the job at once with the cancel error (the handler's own
 *   error, often an AbortError, becomes its cause), so the reason is readable.
 * - While the processor closes, a throw hands the job back to the wait list (BullMQ's
 *   moveToWait), so another worker carries on with no attempt spent.
 * - After the worker lost its lock, the job belongs to whoever takes it next; nothing is written.
 * - Otherwise the error is logged to the job (failure-record.ts) and thrown to BullMQ: as an
 *   UnrecoverableError when `retryable` is false (fails at once), as is otherwise (retried per
 *   `attempts` and `backoff`).
 */
export async function startProcessor(
  deps: ProcessorDeps,
  handler: Handler,
  concurrency: number,
): Promise<{ close(): Promise<void> }> {
  const { config, watch, log } = deps;
  const owner = {};
  let closing: Promise<void> | undefined;

  const processJob = async (job: Job<TorrentJobData, JobResult>, token?: string): Promise<JobResult> => {
    const jobId = job.id!;
    const run = watch.track(jobId, owner);
    try {
      // A job taken while the processor closes goes straight back; one cancelled just before it
      // was taken is failed without running the handler.
      if (closing) run.abort("closing", new Error("processor closing"));
      else await watch.checkMark(run);
      if (run.controller.signal.aborted) throw run.controller.signal.reason;
      const context: JobContext = {
        jobId,
        signal: run.controller.signal,
        cancelled: () => run.stop === "cancelled",
        reportProgress: (progress) => deps.reportProgress(jobId, progress),
      };
      return await handler(job.data, context);
    } catch (thrown) {
      throw await failJob(deps, job, token, run, asError(thrown));
    } finally {
      watch.untrack(run);
    }
  };

  const worker = new Worker<TorrentJobData, JobResult>(QUEUE_NAME, processJob, {
    // A worker blocks on Redis for new jobs; BullMQ requires such connections to wait out a
    // reconnect instead of failing the request.
    connection: { url: config.redisUrl, maxRetriesPerRequest: null },
    prefix: config.prefix,
    concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
  });
  worker.on("error", (err) => log.warn({ err, op: "bullmq.worker" }, "job worker error"));
  // Another worker may already run the job as a stalled one: this handler must stop.
  worker.on("lockRenewalFailed", (jobIds) => {
    for (const run of watch.runsOf(owner)) {
      if (jobIds.includes(run.jobId)) {
        run.abort("lock_lost", new CoordinationError("BACKEND_UNAVAILABLE", `lost the lock on job ${run.jobId}`, { retryable: true, context: { jobId: run.jobId } }));
      }
    }
  });
  await worker.waitUntilReady();

  const close = async (): Promise<void> => {
    // Stop taking jobs first, so none starts with a live signal after the aborts below.
    const closed = worker.close();
    for (const run of watch.runsOf(owner)) run.abort("closing", new Error("processor closing"));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), config.closeTimeoutMs);
    });
    const outcome = await Promise.race([closed.then(() => "closed" as const), expired]);
    clearTimeout(timer);
    if (outcome === "expired") {
      // Dropping the connections stops the lock renewals, so the job is requeued as stalled.
      log.error({ op: "bullmq.worker.close", timeoutMs: config.closeTimeoutMs }, "a job handler ignored its abort; abandoning it");
      await worker.disconnect();
    }
  };
  return {
    close: () => (closing ??= close()),
  };
}

/** What to throw to BullMQ for a handler that threw `error`; see startProcessor. */
async function failJob(deps: ProcessorDeps, job: Job<TorrentJobData, JobResult>, token: string | undefined, run: RunningJob, error: Error): Promise<Error> {
  const jobId = job.id!;
  if (run.stop === "lock_lost") return error;
  if (run.stop === "closing" && token !== undefined) {
    try {
      await job.moveToWait(token);
      return new WaitingError();
    } catch (err) {
      // The job stays active without a renewed lock; the stalled check requeues it.
      deps.log.warn({ err, op: "bullmq.moveToWait", jobId }, "could not hand a job back while closing");
      return error;
    }
  }
  const failure = run.stop === "cancelled" ? cancelFailure(run, error) : error;
  try {
    await deps.appendLog(jobId, failureLogLine(failure));
  } catch (err) {
    // The failure still reaches BullMQ; readers then rebuild it from the message alone.
    deps.log.warn({ err, op: "bullmq.addJobLog", jobId }, "could not record a job's error");
  }
  const permanent = run.stop === "cancelled" || (failure as { retryable?: unknown }).retryable === false;
  if (!permanent) return failure;
  const unrecoverable = new UnrecoverableError(failure.message);
  // Tooling shows the stack of the error thrown to BullMQ: keep the one that says where it failed.
  if (failure.stack !== undefined) unrecoverable.stack = failure.stack;
  return unrecoverable;
}

/** The cancel error, keeping what the handler threw on abort as its cause when it differs. */
function cancelFailure(run: RunningJob, thrown: Error): Error {
  const reason = run.controller.signal.reason as unknown;
  if (reason instanceof CoordinationError && reason.code === "QUEUE_CLOSED") {
    return thrown === reason ? reason : new CoordinationError("QUEUE_CLOSED", reason.message, { context: reason.context, cause: thrown });
  }
  return new CoordinationError("QUEUE_CLOSED", `job ${run.jobId} cancelled`, { context: { jobId: run.jobId }, cause: thrown });
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
