import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CoordinationError, type JobResult, type TorrentJobData } from "@shoal/coordination";

/** How the queue's operations reach Redis: BullMQ's Queue, and each call within the deadline. */
export interface QueueAccess {
  /** Runs one Redis operation within the deadline (`withRedis`, closing-aware). */
  redis<T>(op: string, fn: () => Promise<T>): Promise<T>;
  /** BullMQ's Queue on the command connection, made once Redis first answers. */
  bullQueue(): Promise<Queue<TorrentJobData, JobResult>>;
}

/** The error for "Redis cannot be used right now": retryable, naming the operation. */
export function unavailable(op: string, detail: string, cause?: unknown): CoordinationError {
  return new CoordinationError("BACKEND_UNAVAILABLE", `${op}: Redis unavailable: ${detail}`, {
    retryable: true,
    context: { op },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Runs `fn` against Redis within `timeoutMs`, first waiting (within the same deadline) for the
 * connection to be ready. The connection has no offline queue, so a command sent while Redis is
 * away fails at once instead of waiting for a reconnect that may never come; waiting for
 * readiness first lets an operation ride out a reconnect shorter than its deadline.
 *
 * A failure counts as an outage when the deadline passed, the connection is not ready, or Redis
 * does not answer a PING right after it (a connection can still look ready for a moment after
 * the server died). Judging by the server's state, not by error text, keeps Redis's own replies
 * (a script error is a bug, not an outage) from being retried as if Redis were down.
 */
export async function withRedis<T>(conn: Redis, op: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const cleanups: (() => void)[] = [];
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(op, `no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ready(conn, op, cleanups), expired]);
    if (Date.now() > deadline) throw unavailable(op, `no answer within ${timeoutMs} ms`);
    const work = fn();
    // The operation may still settle after the deadline won; its outcome then has no reader.
    work.catch(() => undefined);
    return await Promise.race([work, expired]);
  } catch (err) {
    if (err instanceof CoordinationError) throw err;
    if (conn.status !== "ready") throw unavailable(op, `connection ${conn.status}`, err);
    if (!(await answers(conn, deadline - Date.now()))) throw unavailable(op, "no answer to PING after a failure", err);
    throw err;
  } finally {
    clearTimeout(timer);
    for (const cleanup of cleanups) cleanup();
  }
}

/**
 * Resolves once `conn` is ready; rejects if it was closed for good. Its listeners are removed by
 * the caller's cleanups, so operations that time out during a long outage do not pile them up.
 */
function ready(conn: Redis, op: string, cleanups: (() => void)[]): Promise<void> {
  if (conn.status === "ready") return Promise.resolve();
  if (conn.status === "end") return Promise.reject(unavailable(op, "connection closed"));
  return new Promise((resolve, reject) => {
    const onReady = (): void => resolve();
    const onEnd = (): void => reject(unavailable(op, "connection closed"));
    conn.once("ready", onReady);
    conn.once("end", onEnd);
    cleanups.push(() => {
      conn.off("ready", onReady);
      conn.off("end", onEnd);
    });
  });
}

/** Whether Redis answers PING within `timeoutMs` (at least a few milliseconds, to ask at all). */
async function answers(conn: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ping = conn.ping().then(
    (reply) => reply === "PONG",
    () => false,
  );
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(timeoutMs, 10));
  });
  try {
    return await Promise.race([ping, expired]);
  } finally {
    clearTimeout(timer);
  }
}
