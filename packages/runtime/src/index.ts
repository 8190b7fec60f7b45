export { parseDestination, formatDestination } from "./destination.js";
export type { Destination } from "./destination.js";
export { s3ConnectionFrom } from "./s3-connection.js";
export type { S3Connection } from "./s3-connection.js";
export { RoutingStore } from "./routing-store.js";
export type { RoutingStoreOptions } from "./routing-store.js";
