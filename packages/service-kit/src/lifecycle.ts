/** What every service's `start(config, deps)` returns. */
export interface RunningService {
  /** Drains and stops: no new work is taken, claims are released, buffers flushed. Idempotent. */
  stop(): Promise<void>;
  /** A JSON-safe status snapshot for operators and the CLI. */
  status(): Record<string, unknown>;
}

/** Runs `fn` once, however many times it is called; later calls get the first call's promise. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}
