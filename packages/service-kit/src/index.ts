export { ConfigError, loadConfig, envNameOf, envNumber, envBoolean } from "./config.js";
export type { ConfigErrorCode } from "./config.js";
export { createLogger, silentLogger } from "./logger.js";
export type { Logger, LoggerOptions } from "./logger.js";
export { systemClock } from "./clock.js";
export type { Clock, TimerHandle, Random } from "./clock.js";
export type { RunningService } from "./lifecycle.js";
