/**
 * Every name this adapter puts into Redis beyond BullMQ's own keys. BullMQ builds the job and
 * list keys itself (`<prefix>:torrents:<jobId>`, `<prefix>:torrents:wait`, ...); they are read
 * from `queue.keys` and `queue.toKey`, never spelled out here.
 */

/** The BullMQ queue name, fixed by the design so operators find the jobs in their tooling. */
export const QUEUE_NAME = "torrents";

/** The BullMQ job name of every job: tooling lists it next to the id. */
export const JOB_NAME = "torrent";

/**
 * The pub/sub channel on which `cancel` tells every worker process to abort a running job. It is
 * a channel, not a key, so it holds nothing; the durable record of a cancel is the job's
 * deferred-failure field.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}:${QUEUE_NAME}:shoal-cancel`;
}

/**
 * BullMQ's deferred-failure field of the job hash. A worker that takes a job with this field set
 * fails it at once with its text, without running the processor; `cancel` sets it on an active
 * job so the job cannot run again after a crash or a hand-back.
 */
export const DEFERRED_FAILURE_FIELD = "defa";

/** Opens a job log line that carries the error a try failed with (see failure-record.ts). */
export const FAILURE_LOG_TAG = "shoal-error ";
