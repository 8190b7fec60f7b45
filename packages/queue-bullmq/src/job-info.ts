/**
 * BullMQ's jobs in the port's terms: one job's JobInfo, the newest jobs, the counts by state, and
 * the job ids BullMQ accepts.
 */
import type { Job } from "bullmq";
import {
  CoordinationError,
  type JobCounts,
  type JobInfo,
  type JobProgress,
  type JobResult,
  type JobState,
  type TorrentJobData,
} from "@shoal/coordination";
import type { QueueAccess } from "./backend.js";

/** `JobQueue.get`: the job's info, or undefined when there is no such job. */
export async function jobInfo(access: QueueAccess, jobId: string): Promise<JobInfo | undefined> {
  const queue = await access.bullQueue();
  const job = await access.redis("bullmq.getJob", () => queue.getJob(jobId));
  if (!job) return undefined;
  const state = await access.redis("bullmq.getState", () => job.getState());
  return infoOf(job, state);
}

/** `JobQueue.list`: the newest jobs in any state, at most `limit` (50 when absent). */
export async function listJobs(access: QueueAccess, options: { limit?: number }): Promise<JobInfo[]> {
  const limit = Math.max(1, options.limit ?? 50);
  const queue = await access.bullQueue();
  const states = ["active", "waiting", "delayed", "prioritized", "completed", "failed"] as const;
  const jobs = await access.redis("bullmq.getJobs", () => queue.getJobs([...states], 0, limit - 1, false));
  const infos = await Promise.all(
    jobs.filter((j): j is Job<TorrentJobData, JobResult> => Boolean(j)).map(async (j) => infoOf(j, await access.redis("bullmq.getState", () => j.getState()))),
  );
  return infos.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
}

/** `JobQueue.counts` from BullMQ's getJobCounts (see `BullJobQueue.counts`). */
export async function jobCounts(access: QueueAccess): Promise<JobCounts> {
  const queue = await access.bullQueue();
  const c = await access.redis("bullmq.getJobCounts", () =>
    queue.getJobCounts("waiting", "prioritized", "waiting-children", "active", "delayed", "completed", "failed"),
  );
  const n = (k: string) => c[k] ?? 0;
  return {
    waiting: n("waiting") + n("prioritized") + n("waiting-children"),
    active: n("active"),
    delayed: n("delayed"),
    completed: n("completed"),
    failed: n("failed"),
  };
}

/** BullMQ's job as the port's JobInfo; its extra states map onto the nearest of ours. */
function infoOf(job: Job<TorrentJobData, JobResult>, bullState: string): JobInfo {
  const state: JobState =
    bullState === "completed" || bullState === "failed" || bullState === "active" || bullState === "delayed"
      ? bullState
      : "waiting";
  const progress = typeof job.progress === "object" && job.progress !== null ? (job.progress as unknown as JobProgress) : undefined;
  return {
    id: job.id!,
    state,
    data: job.data,
    attemptsMade: Math.max(job.attemptsStarted ?? 0, job.attemptsMade),
    createdAt: job.timestamp,
    ...(progress ? { progress } : {}),
    ...(state === "completed" && job.returnvalue ? { result: job.returnvalue } : {}),
    ...(state === "failed" && job.failedReason ? { failedReason: job.failedReason } : {}),
    ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}),
  };
}

/**
 * BullMQ refuses ids that look like integers (its own ids are) and ids with ':' (its key
 * separator). Refusing them here names the rule instead of passing BullMQ's bare Error on.
 */
export function checkJobId(jobId: string): void {
  if (jobId === "" || `${parseInt(jobId, 10)}` === jobId || jobId.includes(":")) {
    throw new CoordinationError(
      "INVARIANT_BROKEN",
      `job id ${JSON.stringify(jobId)} cannot name a BullMQ job: ids must be non-empty, not integers and without ':'`,
      { context: { jobId } },
    );
  }
}
