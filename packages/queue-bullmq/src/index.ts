export { BullJobQueue } from "./bull-job-queue.js";
export type { BullJobQueueOptions } from "./bull-job-queue.js";
export { bullQueueConfigSchema } from "./config.js";
export type { BullQueueConfig, BullQueueConfigInput } from "./config.js";
export { QUEUE_NAME, JOB_NAME } from "./keys.js";
