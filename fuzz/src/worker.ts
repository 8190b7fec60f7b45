import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import v8 from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import { minimise } from "./minimise.js";
import { havoc, type MutationContext } from "./mutate.js";
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
  signatureOf,
  type FindingKind,
  type FindingReport,
  type WorkerJob,
  type WorkerMessage,
} from "./protocol.js";
import { Rng } from "./rng.js";
import { InvariantViolation, type FuzzTarget } from "./target.js";
import { loadTarget } from "./targets/index.js";
import { mutateTree } from "./tree-mutate.js";

/*
 * Runs inputs through one target inside a worker thread. Before each input it publishes the
 * bytes and the start time in shared memory, so the supervisor can kill a hung worker and still
 * save the input that hung it.
 */

const job = workerData as WorkerJob;
const port = parentPort!;
const slots = new Int32Array(job.shared, 0, SLOT_COUNT);
const startedAt = new Float64Array(job.shared, STARTED_AT_OFFSET, 1);
const inputArea = new Uint8Array(job.shared, INPUT_OFFSET);

/** Inputs per fast-check batch: large enough to amortise fast-check's set-up per call. */
const GENERATE_BATCH = 256;
/** Share of inputs taken fresh from the generator; the rest are mutations of the pool. */
const GENERATED_SHARE = 0.2;
/** Share of inputs that mutate a fresh generated input instead of a pool entry. */
const MUTATE_GENERATED_SHARE = 0.1;
/** Share of mutations of bencode inputs that change the decoded tree instead of the bytes. */
const TREE_MUTATION_SHARE = 0.5;
/** The pool keeps seeds and every input that showed a new outcome, up to this many. */
const MAX_POOL = 4096;
/** Distinct outcome labels counted; beyond this the histogram only counts known labels. */
const MAX_LABELS = 2048;
/** Findings of one signature sent in full; later ones are only counted. */
const REPORTS_PER_SIGNATURE = 1;
/** How often the histogram is sent, so a worker killed by a hang loses little of it. */
const STATS_EVERY = 2_000;

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

/** Makes `input` the one the supervisor sees as running. */
function expose(index: number, input: Uint8Array): void {
  const length = Math.min(input.length, inputArea.length);
  inputArea.set(input.subarray(0, length));
  Atomics.store(slots, SLOT_LENGTH, length);
  Atomics.store(slots, SLOT_INDEX, index);
  startedAt[0] = Date.now();
  Atomics.store(slots, SLOT_RUNNING, 1);
}

function finished(): void {
  Atomics.store(slots, SLOT_RUNNING, 0);
  Atomics.add(slots, SLOT_DONE, 1);
}

interface RunResult {
  readonly outcome: string;
  readonly finding?: FindingReport;
  readonly ms: number;
}

/**
 * Runs one input and classifies it. The heap and external-memory growth across the call is the
 * input's allocation: a decoder that allocates far more than its input (a length field taken at
 * its word) is a finding even when the allocation succeeds.
 */
function runOne(target: FuzzTarget, input: Uint8Array): RunResult {
  const before = v8.getHeapStatistics();
  const start = performance.now();
  let outcome: string;
  let failure: { kind: FindingKind; err: unknown } | undefined;
  try {
    outcome = target.run(input);
  } catch (err) {
    outcome = "finding";
    failure = { kind: err instanceof InvariantViolation ? "invariant" : "exception", err };
  }
  const ms = performance.now() - start;
  const after = v8.getHeapStatistics();
  const grown = after.used_heap_size - before.used_heap_size + (after.external_memory - before.external_memory);
  if (failure === undefined && grown > job.inputMemoryBytes) {
    outcome = "finding";
    const err = new Error(`input of ${input.length} bytes allocated ${Math.round(grown / 1048576)} MiB while decoding`);
    err.name = "MemoryBlowUp";
    failure = { kind: "memory", err };
  }
  if (failure === undefined) return { outcome, ms };
  if (failure.kind !== "memory") failure.err = withStack(target, input, failure.err);
  const { signature, message, stack } = signatureOf(failure.err);
  return { outcome, ms, finding: { kind: failure.kind, signature: `${failure.kind} ${signature}`, message, stack, input: input.slice() } };
}

/**
 * Stack traces are off while fuzzing: decoders throw their documented errors for most inputs,
 * and capturing a trace for each costs more than the decoding. A finding is run once more with
 * traces on, so its signature and report name the code that failed; should the second run not
 * fail (it always does for a deterministic decoder), the first error is kept without a trace.
 */
const FINDING_STACK_FRAMES = 30;
Error.stackTraceLimit = 0;

function withStack(target: FuzzTarget, input: Uint8Array, first: unknown): unknown {
  Error.stackTraceLimit = FINDING_STACK_FRAMES;
  try {
    target.run(input);
    return first;
  } catch (err) {
    return err;
  } finally {
    Error.stackTraceLimit = 0;
  }
}

function corpusFiles(dir: string): Uint8Array[] {
  try {
    return readdirSync(dir)
      .filter((f) => !f.startsWith("."))
      .sort()
      .map((f) => new Uint8Array(readFileSync(join(dir, f))));
  } catch {
    return [];
  }
}

async function fuzz(target: FuzzTarget): Promise<void> {
  const rng = new Rng(job.seed);
  const pool: Uint8Array[] = [...corpusFiles(job.corpusDir), ...target.seeds()].filter((s) => s.length <= target.maxInputBytes);
  const ctx: MutationContext = { rng, pool, dictionary: target.dictionary, maxBytes: target.maxInputBytes };
  const outcomes: Record<string, number> = {};
  const repeats: Record<string, number> = {};
  const reported = new Map<string, number>();
  let generatedBatch: Uint8Array[] = [];
  let batchSeed = job.seed;
  let slowestMs = 0;
  let slowestInput = new Uint8Array(0);
  const fresh = (): Uint8Array => {
    if (generatedBatch.length === 0) {
      batchSeed = (Math.imul(batchSeed, 0x2c1b3c6d) + 0x297a2d39) | 0;
      generatedBatch = target.generate(batchSeed, GENERATE_BATCH).reverse();
    }
    return generatedBatch.pop()!;
  };
  const stats = () => ({
    outcomes: { ...outcomes },
    slowestMs,
    slowestInput,
    poolSize: pool.length,
    repeats: { ...repeats },
  });

  for (let i = 0; i < job.count; i++) {
    let input: Uint8Array;
    const roll = rng.u32() / 0x1_0000_0000;
    if (roll < GENERATED_SHARE || pool.length === 0) {
      input = fresh();
      Atomics.add(slots, SLOT_GENERATED, 1);
    } else {
      const base = roll < GENERATED_SHARE + MUTATE_GENERATED_SHARE ? fresh() : rng.pick(pool);
      input = (target.bencode && rng.chance(TREE_MUTATION_SHARE) ? mutateTree(base, ctx) : undefined) ?? havoc(base, ctx);
      Atomics.add(slots, SLOT_MUTATED, 1);
    }
    if (input.length > target.maxInputBytes) input = input.subarray(0, target.maxInputBytes);
    expose(i, input);
    const result = runOne(target, input);
    finished();
    if (result.ms > slowestMs) {
      slowestMs = result.ms;
      slowestInput = input.slice();
    }
    if (result.finding) {
      const sig = result.finding.signature;
      const seen = reported.get(sig) ?? 0;
      reported.set(sig, seen + 1);
      if (seen < REPORTS_PER_SIGNATURE) post({ type: "finding", finding: result.finding });
      else repeats[sig] = (repeats[sig] ?? 0) + 1;
    }
    const known = outcomes[result.outcome];
    if (known !== undefined) {
      outcomes[result.outcome] = known + 1;
    } else if (Object.keys(outcomes).length < MAX_LABELS) {
      // A new outcome means this input reached code the pool had not reached: keep it to mutate.
      outcomes[result.outcome] = 1;
      if (!result.finding) {
        if (pool.length >= MAX_POOL) pool[rng.below(pool.length)] = input;
        else pool.push(input);
      }
    }
    if ((i + 1) % STATS_EVERY === 0) post({ type: "stats", stats: stats() });
  }
  post({ type: "stats", stats: stats() });
}

async function main(): Promise<void> {
  const target = await loadTarget(job.target);
  if (job.mode === "fuzz") {
    await fuzz(target);
    return;
  }
  const input = job.input!;
  if (job.mode === "replay") {
    expose(0, input);
    const result = runOne(target, input);
    finished();
    post({ type: "replayed", outcome: result.outcome, ...(result.finding ? { finding: result.finding } : {}) });
    return;
  }
  let candidates = 0;
  minimise(
    input,
    (candidate) => {
      expose(candidates++, candidate);
      const result = runOne(target, candidate);
      finished();
      return result.finding?.signature === job.signature;
    },
    (smaller) => post({ type: "smaller", input: smaller.slice() }),
    job.budget ?? 10_000,
  );
}

await main();
