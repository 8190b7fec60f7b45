import type { EventEmitter } from "node:events";

export interface UntilOptions {
  readonly timeoutMs: number;
  /** Names the awaited condition in the timeout error. */
  readonly what: string;
  /** Re-checks the condition whenever one of these emitters fires the named event. */
  readonly wakeOn?: readonly (readonly [EventEmitter, string])[];
  /** Appended to the timeout error: a state dump that explains what was missing. */
  readonly describe?: () => string | Promise<string>;
}

/**
 * A safety net for conditions that change without an event we can hear (a claim table read, a
 * swarm that finished joining): re-checked this often besides on events.
 */
const RECHECK_INTERVAL_MS = 20;

/**
 * Resolves once `cond` holds, checking it on every `wakeOn` event and on a short interval, and
 * rejects when the deadline passes. This is how the simulations wait: never a fixed sleep.
 */
export function until(cond: () => boolean | Promise<boolean>, opts: UntilOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let checking = false;
    let again = false;
    const cleanup = () => {
      settled = true;
      clearTimeout(deadline);
      clearInterval(ticker);
      for (const [emitter, event] of opts.wakeOn ?? []) emitter.off(event, check);
    };
    const check = () => {
      if (settled) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      void (async () => {
        try {
          do {
            again = false;
            if (await cond()) {
              cleanup();
              resolve();
              return;
            }
          } while (again && !settled);
        } catch (err) {
          cleanup();
          reject(err as Error);
        } finally {
          checking = false;
        }
      })();
    };
    const deadline = setTimeout(() => {
      if (settled) return;
      cleanup();
      void (async () => {
        const extra = opts.describe ? `\n${await opts.describe()}` : "";
        reject(new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${extra}`));
      })();
    }, opts.timeoutMs);
    const ticker = setInterval(check, RECHECK_INTERVAL_MS);
    for (const [emitter, event] of opts.wakeOn ?? []) emitter.on(event, check);
    check();
  });
}
