export { start } from "./service.js";
export type { PollerDeps } from "./service.js";
export { pollerConfigSchema } from "./config.js";
export type { PollerConfig } from "./config.js";
export { recheckExisting } from "./handlers/recheck.js";
export type { RecheckResult } from "./handlers/recheck.js";
export { resolveSource } from "./handlers/resolve-source.js";
export { defaultDhtStateFile } from "./dht/dht-runner.js";
