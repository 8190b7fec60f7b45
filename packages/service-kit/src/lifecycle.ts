/** What every service's `start(config, deps)` returns. */
export interface RunningService {
  /** Drains and stops: no new work is taken, claims are released, buffers flushed. Idempotent. */
  stop(): Promise<void>;
  /** A JSON-safe status snapshot for operators and the CLI. */
  status(): Record<string, unknown>;
}
