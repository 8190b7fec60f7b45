import { setTimeout as delay } from "node:timers/promises";
import { TestkitError } from "./testkit-error.js";

export interface WaitForOptions {
  readonly timeoutMs: number;
  /** Names the awaited condition in the timeout error ("tracker lists 127.0.0.1:6881"). */
  readonly what: string;
  /** Polling interval; short because every awaited fixture is local. */
  readonly intervalMs?: number;
  /** Called when the deadline passes; its text is appended to the error (a log tail, a state). */
  readonly describe?: () => string | Promise<string>;
}

/** 50 ms keeps a local fixture's readiness latency low without spinning a core. */
const DEFAULT_INTERVAL_MS = 50;

/**
 * Polls `cond` until it returns true or the deadline passes. An exception thrown by `cond`
 * ends the wait at once (so a child that died is reported as such, not as a timeout).
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, opts: WaitForOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  for (;;) {
    if (await cond()) return;
    if (Date.now() >= deadline) {
      const extra = opts.describe ? `\n${await opts.describe()}` : "";
      throw new TestkitError("TIMEOUT", `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${extra}`, {
        context: { what: opts.what, timeoutMs: opts.timeoutMs },
        retryable: true,
      });
    }
    await delay(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}
