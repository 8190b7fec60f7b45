import type { JobQueue } from "@shoal/coordination";

/** What a cancel did, with the line `shoal cancel` prints and the dashboard shows. */
export type CancelOutcome =
  | { readonly kind: "cancelled"; readonly message: string }
  | { readonly kind: "finished"; readonly message: string }
  | { readonly kind: "unknown"; readonly message: string };

/**
 * Cancels a job that is waiting or running: it stops everywhere and its unfinished uploads are
 * aborted (finished objects stay). A job that already ended is left alone, and an unknown id is
 * reported, not thrown: both are answers, not failures. Queue errors (Redis away) are thrown.
 */
export async function cancelJob(queue: JobQueue, jobId: string): Promise<CancelOutcome> {
  const job = await queue.get(jobId);
  if (!job) return { kind: "unknown", message: `no job ${jobId} in the queue` };
  if (job.state === "completed" || job.state === "failed") {
    return { kind: "finished", message: `job ${jobId} already ${job.state}; nothing to cancel` };
  }
  await queue.cancel(jobId);
  return { kind: "cancelled", message: `job ${jobId} cancelled` };
}
