import type { ManagedProcess } from "./managed-process.js";
import { waitFor } from "./wait-for.js";

export interface AwaitReadyOptions {
  /** Names the server in errors ("redis-server 127.0.0.1:40123"). */
  readonly what: string;
  readonly timeoutMs: number;
  /**
   * Throws (or rejects) while the server is not ready yet; its last message goes into the
   * timeout error, so a server that listens but answers wrongly says how.
   */
  readonly probe: () => Promise<void>;
}

/** Servers on loopback answer a probe within milliseconds; the deadline is for slow starts. */
const PROBE_INTERVAL_MS = 50;

/**
 * Polls `probe` until it passes. Every round first checks that each process is still running,
 * so a server that dies while starting fails at once with EARLY_EXIT and its log tail rather
 * than at the deadline. On any failure all `procs` are stopped before the error is rethrown,
 * so a half-started server never outlives the call.
 */
export async function awaitReady(procs: readonly ManagedProcess[], opts: AwaitReadyOptions): Promise<void> {
  let lastProblem = "no probe finished yet";
  try {
    await waitFor(
      async () => {
        for (const p of procs) p.assertRunning(`starting (${opts.what})`);
        try {
          await opts.probe();
          return true;
        } catch (err) {
          lastProblem = err instanceof Error ? err.message : String(err);
          return false;
        }
      },
      {
        timeoutMs: opts.timeoutMs,
        what: `${opts.what} to become ready`,
        intervalMs: PROBE_INTERVAL_MS,
        describe: () =>
          [`last probe: ${lastProblem}`, ...procs.map((p) => `--- ${p.name} (log ${p.logPath}):\n${p.logTail()}`)].join("\n"),
      },
    );
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
}
