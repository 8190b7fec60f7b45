export { start } from "./service.js";
export type { WriterDeps } from "./service.js";
export { writerConfigSchema } from "./config.js";
export type { WriterConfig } from "./config.js";
