import { Worker } from "node:worker_threads";
import {
  INPUT_OFFSET,
  SLOT_COUNT,
  SLOT_DONE,
  SLOT_GENERATED,
  SLOT_INDEX,
  SLOT_MUTATED,
  SLOT_LENGTH,
  SLOT_RUNNING,
  STARTED_AT_OFFSET,
  type FindingReport,
  type WorkerJob,
  type WorkerMessage,
  type WorkerStats,
} from "./protocol.js";

/*
 * Runs a worker under a watchdog. The worker marks each input as running in shared memory; when
 * one runs longer than the time limit the worker is terminated and the input is read back from
 * shared memory. A worker that dies (out of heap, a native crash) is handled the same way.
 */

export interface WatchdogLimits {
  /** An input running longer than this is a hang. */
  readonly timeLimitMs: number;
  /** Old-generation heap of the worker; running out of it kills the worker, which is a finding. */
  readonly heapMb: number;
}

/** How often the watchdog looks at the running input: a small fraction of any sane time limit. */
const WATCH_INTERVAL_MS = 25;

export interface WorkerRun {
  readonly findings: FindingReport[];
  /** The last statistics the worker sent (it sends them periodically and at the end). */
  readonly stats: WorkerStats | undefined;
  /** Inputs the worker finished. */
  readonly done: number;
  readonly generated: number;
  readonly mutated: number;
  /** Set when the worker hung or died on an input: its index in this worker's run. */
  readonly abortedAt?: number;
  readonly smaller: Uint8Array | undefined;
  readonly replayed?: { outcome: string; finding?: FindingReport };
}

/** Bytes of shared memory for a job whose inputs are at most `maxInputBytes`. */
export function sharedFor(maxInputBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(INPUT_OFFSET + maxInputBytes);
}

export function runWorker(
  job: WorkerJob,
  limits: WatchdogLimits,
  onProgress?: (done: number) => void,
): Promise<WorkerRun> {
  const slots = new Int32Array(job.shared, 0, SLOT_COUNT);
  slots.fill(0);
  const startedAt = new Float64Array(job.shared, STARTED_AT_OFFSET, 1);
  const inputArea = new Uint8Array(job.shared, INPUT_OFFSET);
  const findings: FindingReport[] = [];
  let stats: WorkerStats | undefined;
  let smaller: Uint8Array | undefined;
  let replayed: WorkerRun["replayed"];

  const worker = new Worker(new URL("./worker.js", import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: limits.heapMb },
  });

  /** The input the worker is on, copied out of shared memory. */
  const runningInput = (): Uint8Array => inputArea.slice(0, Atomics.load(slots, SLOT_LENGTH));

  return new Promise<WorkerRun>((resolve) => {
    let settled = false;
    let abort: { at: number; finding: FindingReport } | undefined;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      const done = Atomics.load(slots, SLOT_DONE);
      if (abort) findings.push(abort.finding);
      const generated = Atomics.load(slots, SLOT_GENERATED);
      const mutated = Atomics.load(slots, SLOT_MUTATED);
      resolve({ findings, stats, done, generated, mutated, smaller, replayed, ...(abort ? { abortedAt: abort.at } : {}) });
    };
    const kill = (kind: "hang" | "crash", message: string, stack = ""): void => {
      if (abort || settled) return;
      const at = Atomics.load(slots, SLOT_INDEX);
      const running = Atomics.load(slots, SLOT_RUNNING) === 1;
      abort = {
        at,
        finding: {
          kind,
          signature: `${kind} ${message.replace(/\d+/g, "#")}`,
          message,
          stack,
          input: running ? runningInput() : new Uint8Array(0),
        },
      };
    };
    const watch = setInterval(() => {
      onProgress?.(Atomics.load(slots, SLOT_DONE));
      // Once a hang is recorded the worker is being terminated; asking again would only stack listeners.
      if (abort || Atomics.load(slots, SLOT_RUNNING) !== 1) return;
      const elapsed = Date.now() - startedAt[0]!;
      if (elapsed > limits.timeLimitMs) {
        kill("hang", `input ran longer than ${limits.timeLimitMs} ms`);
        void worker.terminate();
      }
    }, WATCH_INTERVAL_MS);

    worker.on("message", (message: WorkerMessage) => {
      switch (message.type) {
        case "finding":
          findings.push(message.finding);
          break;
        case "stats":
          stats = message.stats;
          break;
        case "smaller":
          smaller = message.input;
          break;
        case "replayed":
          replayed = { outcome: message.outcome, ...(message.finding ? { finding: message.finding } : {}) };
          break;
      }
    });
    worker.on("error", (err: Error & { code?: string }) => {
      // Uncaught inside the worker: out of heap (ERR_WORKER_OUT_OF_MEMORY) or a harness bug.
      kill("crash", `worker died: ${err.code ?? err.name}: ${err.message}`, err.stack ?? "");
    });
    worker.on("exit", (code) => {
      if (code !== 0 && !abort && Atomics.load(slots, SLOT_RUNNING) === 1) kill("crash", `worker exited with code ${code}`);
      finish();
    });
  });
}
