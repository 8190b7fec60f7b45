export { start } from "./service.js";
export type { VerifierDeps } from "./service.js";
export { verifierConfigSchema } from "./config.js";
export type { VerifierConfig } from "./config.js";
