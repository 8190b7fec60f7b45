/**
 * Cancelling a job wherever it is, through cancelJob-8.lua: the script, its outcomes, and what
 * follows each of them here.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import type { QueueAccess } from "./backend.js";
import { cancelError, type CancelWatch } from "./cancel-watch.js";
import type { BullQueueConfig } from "./config.js";
import { failureLogLine } from "./failure-record.js";
import { cancelChannel } from "./keys.js";

/** Read once: the script is part of the package (lua/ next to src/ and dist/). */
const CANCEL_SCRIPT = readFileSync(new URL("../lua/cancelJob-8.lua", import.meta.url), "utf8");

/** Outcomes of cancelJob-8.lua, as its header lists them. */
const CANCEL_OUTCOME = { missing: 0, taken: 1, signalled: 2, finished: 3 } as const;

export type CancelScript = (...args: (string | number)[]) => Promise<number>;

/** Defines cancelJob-8.lua on `conn` and returns it as a function bound to that connection. */
export function defineCancelScript(conn: Redis): CancelScript {
  conn.defineCommand("shoalCancelJob", { numberOfKeys: 8, lua: CANCEL_SCRIPT });
  return (conn as unknown as Record<string, CancelScript>)["shoalCancelJob"]!.bind(conn);
}

/** What cancelling needs of the queue. */
export interface CancelContext extends QueueAccess {
  readonly config: BullQueueConfig;
  readonly cancelScript: CancelScript;
  /** This instance's cancel subscriber, once a `process` call started it. */
  localWatch(): Promise<CancelWatch> | undefined;
}

/** `JobQueue.cancel` (see `BullJobQueue.cancel`). */
export async function cancelJob(ctx: CancelContext, jobId: string): Promise<void> {
  const queue = await ctx.redis("bullmq.cancel", () => ctx.bullQueue());
  const error = cancelError(jobId);
  const token = randomUUID();
  const k = queue.keys;
  const outcome = await ctx.redis("bullmq.cancel", () =>
    ctx.cancelScript(
      queue.toKey(jobId), k["wait"]!, k["paused"]!, k["prioritized"]!, k["delayed"]!, k["active"]!, k["completed"]!, k["failed"]!,
      jobId, token, ctx.config.lockDurationMs, error.message, cancelChannel(ctx.config.prefix),
    ),
  );
  // The same process may run the job: its own subscriber would tell it too, a moment later.
  if (outcome === CANCEL_OUTCOME.signalled) (await ctx.localWatch()?.catch(() => undefined))?.cancelLocal(jobId);
  if (outcome !== CANCEL_OUTCOME.taken && outcome !== CANCEL_OUTCOME.signalled) return;
  await ctx.redis("bullmq.cancel", async () => {
    await queue.addJobLog(jobId, failureLogLine(error));
    if (outcome !== CANCEL_OUTCOME.taken) return;
    const job = await queue.getJob(jobId);
    if (!job) return;
    const failure = new UnrecoverableError(error.message);
    await job.moveToFailed(failure, token);
  });
}
