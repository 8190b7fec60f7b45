/*
 * What the supervisor and its worker share. The worker publishes the input it is about to run in
 * shared memory before running it, so when the input hangs or kills the worker the supervisor
 * still has its exact bytes; nothing has to be posted per input.
 */

/** Int32 slots at the start of the shared buffer. */
export const SLOT_INDEX = 0;
export const SLOT_LENGTH = 1;
/** 1 while an input runs, 0 between inputs. */
export const SLOT_RUNNING = 2;
/** Inputs finished so far by this worker. */
export const SLOT_DONE = 3;
/** Inputs taken fresh from the generator, and mutated ones, so far by this worker. */
export const SLOT_GENERATED = 4;
export const SLOT_MUTATED = 5;
/** Int32 slots in front of the start time. */
export const SLOT_COUNT = 6;
/** Byte offset of the Float64 holding when the running input started (Date.now()). */
export const STARTED_AT_OFFSET = 24;
/** Byte offset of the input bytes. */
export const INPUT_OFFSET = 32;

export type WorkerMode = "fuzz" | "minimise" | "replay";

export interface WorkerJob {
  readonly mode: WorkerMode;
  readonly target: string;
  readonly seed: number;
  /** Fuzz: inputs to run in this worker's life. */
  readonly count: number;
  /** Directory of the committed corpus files of the target. */
  readonly corpusDir: string;
  /** An input that allocates more than this while it runs is a finding. */
  readonly inputMemoryBytes: number;
  readonly shared: SharedArrayBuffer;
  /** Minimise and replay: the input. */
  readonly input?: Uint8Array;
  /** Minimise: the signature a smaller input must keep. */
  readonly signature?: string;
  /** Minimise: most candidates to try. */
  readonly budget?: number;
}

/** What a finding is: an exception or broken invariant inside the worker, or the worker's death. */
export type FindingKind = "exception" | "invariant" | "memory" | "hang" | "crash";

export interface FindingReport {
  readonly kind: FindingKind;
  readonly signature: string;
  readonly message: string;
  readonly stack: string;
  readonly input: Uint8Array;
}

export interface WorkerStats {
  /** How often each outcome label occurred (sent every few thousand inputs, so a killed worker's last ones are missing). */
  readonly outcomes: Record<string, number>;
  readonly slowestMs: number;
  readonly slowestInput: Uint8Array;
  /** Inputs in the mutation pool at the end (seeds plus inputs with a new outcome). */
  readonly poolSize: number;
  /** Repeats of findings already reported, by signature. */
  readonly repeats: Record<string, number>;
}

export type WorkerMessage =
  | { readonly type: "finding"; readonly finding: FindingReport }
  | { readonly type: "stats"; readonly stats: WorkerStats }
  | { readonly type: "smaller"; readonly input: Uint8Array }
  | { readonly type: "replayed"; readonly outcome: string; readonly finding?: FindingReport };

/**
 * A finding's identity: the error's class, its message with numbers and quoted values blanked,
 * and the first stack frame in shoal's own code, so the same bug met a thousand times is one
 * finding and two bugs with the same message in different places are two.
 */
export function signatureOf(err: unknown): { signature: string; message: string; stack: string } {
  if (!(err instanceof Error)) {
    const text = String(err);
    return { signature: `thrown ${typeof err}: ${text.slice(0, 80)}`, message: text, stack: "" };
  }
  const message = err.message;
  const shape = message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/0x[0-9a-f]+/gi, "0x#")
    .replace(/\d+/g, "#")
    .slice(0, 160);
  const frame = (err.stack ?? "")
    .split("\n")
    .slice(1)
    .find((line) => /\/(packages|services)\//.test(line));
  const fn = frame?.match(/at (?:async )?([^\s(]+) \(/)?.[1];
  const file = frame?.match(/((?:packages|services)\/[^:)]+:\d+)/)?.[1];
  const where = file ? `${fn ?? "<anonymous>"} ${file}` : "no shoal frame";
  return { signature: `${err.name}: ${shape} @ ${where}`, message, stack: err.stack ?? "" };
}
