/**
 * `@shoal/runtime/commands`: what the shoal commands read and check before they run anything,
 * and what submitting or cancelling a job takes: settings from flags and env, option values,
 * destinations, a job's submission, one-line failures. The main entry adds the services, NATS,
 * the DHT, the stores, Redis locks and metrics, which take most of a second to load; `shoal
 * submit`, `status` and `cancel` start with this part alone (`checkBucket` loads the S3 client
 * when it is called). The DHT settings are `@shoal/runtime/dht-settings`, apart: `shoal get`
 * checks them, the job commands do not.
 */
export { parseDestination, formatDestination } from "./destination.js";
export type { Destination } from "./destination.js";
export { s3ConnectionFrom } from "./s3-connection.js";
export type { S3Connection } from "./s3-connection.js";
export { clusterSettingsFrom, redisUrlFrom, natsServersFrom, portFrom, logLevelFrom } from "./cluster-settings.js";
export type { ClusterFlags, ClusterSettings } from "./cluster-settings.js";
export { parseFileSelection, parseRate, webSeedChoice } from "./option-values.js";
export type { WebSeedChoice } from "./option-values.js";
export { torrentSourceOf, torrentUrlSource } from "./torrent-source.js";
export { checkBucket } from "./bucket-check.js";
export { prepareSubmission, submitJob, submitProblemOf } from "./submit-job.js";
export type { SubmitRequest, PreparedSubmission, SubmitProblem } from "./submit-job.js";
export { cancelJob } from "./cancel-job.js";
export type { CancelOutcome } from "./cancel-job.js";
export { redisUnreachable } from "./redis-unreachable.js";
export { describeStartFailure } from "./start-failure.js";
