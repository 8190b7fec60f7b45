import { pino, stdSerializers, destination, type Logger, type DestinationStream } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** The service name every line carries (`tracker-poller`, `peer-worker`, ...). */
  readonly service: string;
  /** Identifies this instance when a service runs several times (one per peer-worker process). */
  readonly workerId?: string;
  readonly level?: string;
  /** Where lines go; defaults to stderr so stdout stays free for CLI output. */
  readonly destination?: DestinationStream;
}

/**
 * Root logger with the fixed field names of the project (`service`, `workerId`; children add
 * `component`, and call sites use `infoHash`, `piece`, `block`, `peer`, `op`, `err`).
 */
export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, string> = { service: options.service };
  if (options.workerId) base["workerId"] = options.workerId;
  return pino(
    { level: options.level ?? "info", base, serializers: { err: stdSerializers.err } },
    options.destination ?? destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for embedded use where the CLI prints its own progress. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
