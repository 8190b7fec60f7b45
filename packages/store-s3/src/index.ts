export { S3ObjectStore } from "./s3-object-store.js";
export type { S3ObjectStoreDeps } from "./s3-object-store.js";
export { S3TreeReader } from "./s3-tree-reader.js";
export { probeBucket } from "./probe-bucket.js";
export { s3StoreConfigSchema, parseS3StoreConfig } from "./config.js";
export type { S3StoreConfig, S3StoreConfigInput } from "./config.js";
// The ledger port and its memory stand-in live in @shoal/coordination next to the other ports;
// re-exported so code that took them from the store keeps working.
export { MemoryUploadLedger } from "@shoal/coordination";
export type { UploadLedger, LedgerObject, LedgerPart } from "@shoal/coordination";
export { planWrites, unitsOfPiece, unitsOfRange, piecesOfUnit, partTarget, S3_LIMITS } from "./write-plan.js";
export type { WritePlan, WriteUnit, PlannedObject, ObjectKind, PlanOptions, S3Limits } from "./write-plan.js";
export { S3_OPS, S3_DURATION_BUCKETS_SECONDS } from "./s3-stats.js";
export type { S3Op, S3Status, S3StoreStats, S3DurationStats } from "./s3-stats.js";
export { META_INFO_HASH, META_PATH } from "./object-keys.js";
