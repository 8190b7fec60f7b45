// What the commands use (settings, option values, submitting and cancelling jobs), also at
// `@shoal/runtime/commands` and `@shoal/runtime/dht-settings` without the rest; then the wiring
// of the services.
export * from "./commands.js";
export { dhtSettingsFrom, userDhtStateFile } from "./dht-settings.js";
export type { DhtFlags, DhtOverrides } from "./dht-settings.js";
export { encryptionFrom } from "./encryption-setting.js";
export { RoutingStore, checkS3Tuning } from "./routing-store.js";
export type { RoutingStoreOptions } from "./routing-store.js";
export { startOpsServer } from "./ops-server.js";
export type { OpsServer, OpsServerOptions, HealthReport } from "./ops-server.js";
export { serviceRegistry, TotalsCounter } from "./service-metrics.js";
export { registerSnapshotHistogram } from "./snapshot-histogram.js";
export type { HistogramSnapshot, SnapshotHistogramOptions } from "./snapshot-histogram.js";
export { connectBackends, DURABLE_GROUPS } from "./backends.js";
export type { Backends, ConnectOptions } from "./backends.js";
export { startServiceProcess, SERVICE_NAMES, DEFAULT_METRICS_PORT } from "./service-process.js";
export type { ServiceFlags, ServiceProcess } from "./service-process.js";
export type { ServiceName } from "./service-collectors.js";
export { treeReaderFor } from "./tree-reader-for.js";
export type { TreeReaderOptions } from "./tree-reader-for.js";
export { metadataKeeperFor } from "./metadata-keeper-for.js";
