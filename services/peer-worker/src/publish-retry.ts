import { CoordinationError } from "@shoal/coordination";

export interface PublishRetryOptions {
  /** Give up (rethrow the last error) once this long has passed since the first try. */
  readonly giveUpAfterMs: number;
  /** Checked before each new try: true ends the tries with the last error (the torrent was left). */
  readonly stopped: () => boolean;
  readonly now: () => number;
  /** Called once, on the first failure that will be tried again. */
  readonly onRetry?: (err: CoordinationError) => void;
  /** Waits between tries; a timer by default, injected by tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The first wait after a failed try; doubled after each, up to the maximum. */
const FIRST_WAIT_MS = 250;
/** A NATS server restarts in a few seconds; tries further apart than this would only add delay. */
const MAX_WAIT_MS = 4000;

/**
 * Runs `send` until it resolves, trying again while it fails with a retryable CoordinationError
 * (the bus is reconnecting: BACKEND_UNAVAILABLE) and `giveUpAfterMs` has not passed. Any other
 * error, and the last retryable one, is thrown. A failed durable publish may still have been
 * stored by the server, so `send` must be safe to repeat (every bus handler is idempotent).
 */
export async function publishWithRetry(send: () => Promise<void>, o: PublishRetryOptions): Promise<void> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const start = o.now();
  let wait = FIRST_WAIT_MS;
  for (let tries = 1; ; tries++) {
    try {
      await send();
      return;
    } catch (err) {
      const retryable = err instanceof CoordinationError && err.retryable;
      if (!retryable || o.stopped() || o.now() - start + wait > o.giveUpAfterMs) throw err;
      if (tries === 1) o.onRetry?.(err);
    }
    await sleep(wait);
    wait = Math.min(wait * 2, MAX_WAIT_MS);
  }
}
