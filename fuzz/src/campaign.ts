import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FindingReport, WorkerStats } from "./protocol.js";
import { runWorker, sharedFor, type WatchdogLimits } from "./supervisor.js";

/*
 * One target's campaign: workers run the inputs; when one hangs or dies on an input, the input
 * is recorded and a fresh worker carries on with the rest of the count. Findings are then
 * minimised (each in a watched worker of its own) and written to the findings directory.
 */

export interface CampaignOptions extends WatchdogLimits {
  readonly target: string;
  readonly count: number;
  readonly seed: number;
  readonly corpusDir: string;
  readonly findingsDir: string;
  readonly inputMemoryBytes: number;
  readonly maxInputBytes: number;
  readonly minimise: boolean;
  /** Candidates tried per finding while minimising. */
  readonly minimiseBudget: number;
  readonly log: (line: string) => void;
}

export interface Finding extends FindingReport {
  /** How often the signature came up in the campaign. */
  occurrences: number;
  minimised?: Uint8Array;
  file?: string;
}

export interface CampaignReport {
  readonly target: string;
  readonly seed: number;
  readonly runs: number;
  readonly generated: number;
  readonly mutated: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  readonly workerRestarts: number;
  readonly slowestMs: number;
  readonly poolSize: number;
  readonly outcomes: Record<string, number>;
  readonly findings: Finding[];
}

/** How often progress is logged. */
const PROGRESS_EVERY_MS = 15_000;

export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const shared = sharedFor(o.maxInputBytes);
  const started = performance.now();
  const findings = new Map<string, Finding>();
  const totals = { runs: 0, generated: 0, mutated: 0, slowestMs: 0, poolSize: 0 };
  let slowestInput: Uint8Array = new Uint8Array(0);
  const outcomes: Record<string, number> = {};
  let restarts = 0;
  let remaining = o.count;
  let lastLog = performance.now();

  const record = (f: FindingReport, times = 1): void => {
    const known = findings.get(f.signature);
    if (known) known.occurrences += times;
    else findings.set(f.signature, { ...f, occurrences: times });
  };
  const addStats = (s: WorkerStats): void => {
    totals.poolSize = Math.max(totals.poolSize, s.poolSize);
    if (s.slowestMs > totals.slowestMs) {
      totals.slowestMs = s.slowestMs;
      slowestInput = s.slowestInput;
    }
    for (const [label, n] of Object.entries(s.outcomes)) outcomes[label] = (outcomes[label] ?? 0) + n;
    for (const [sig, n] of Object.entries(s.repeats)) {
      const known = findings.get(sig);
      if (known) known.occurrences += n;
    }
  };

  while (remaining > 0) {
    const base = o.count - remaining;
    const run = await runWorker(
      {
        mode: "fuzz",
        target: o.target,
        // Each worker of a campaign gets its own stream of inputs; a restart must not replay the
        // inputs before the one that hung.
        seed: (o.seed * 1_000_003 + restarts * 7_919) | 0,
        count: remaining,
        corpusDir: o.corpusDir,
        inputMemoryBytes: o.inputMemoryBytes,
        shared,
      },
      o,
      (done) => {
        if (performance.now() - lastLog < PROGRESS_EVERY_MS) return;
        lastLog = performance.now();
        const total = base + done;
        const rate = total / ((performance.now() - started) / 1000);
        o.log(`${o.target}: ${total.toLocaleString("en")}/${o.count.toLocaleString("en")} inputs, ${Math.round(rate).toLocaleString("en")}/s, ${findings.size} finding(s)`);
      },
    );
    for (const f of run.findings) record(f);
    if (run.stats) addStats(run.stats);
    totals.generated += run.generated;
    totals.mutated += run.mutated;
    if (run.abortedAt === undefined) {
      totals.runs += run.done;
      break;
    }
    const aborted = run.findings[run.findings.length - 1]!;
    if (aborted.input.length === 0 && run.done === 0) {
      throw new Error(`the ${o.target} worker died before its first input: ${aborted.message}\n${aborted.stack}`);
    }
    // The inputs finished plus the one that hung or killed the worker.
    const consumed = run.abortedAt + 1;
    totals.runs += consumed;
    remaining -= consumed;
    restarts++;
    o.log(`${o.target}: worker ${aborted.kind} on input ${(base + run.abortedAt).toLocaleString("en")}: ${aborted.message}; restarting`);
  }

  const seconds = (performance.now() - started) / 1000;
  const all = [...findings.values()];
  mkdirSync(join(o.findingsDir, o.target), { recursive: true });
  for (const f of all) {
    if (o.minimise && f.kind !== "hang" && f.kind !== "crash") f.minimised = await minimiseFinding(o, f, shared);
    f.file = saveFinding(o, f);
  }
  if (totals.slowestMs > 0) writeFileSync(join(o.findingsDir, o.target, "slowest-input.bin"), slowestInput);
  return {
    target: o.target,
    seed: o.seed,
    runs: totals.runs,
    generated: totals.generated,
    mutated: totals.mutated,
    seconds,
    inputsPerSecond: totals.runs / seconds,
    workerRestarts: restarts,
    slowestMs: totals.slowestMs,
    poolSize: totals.poolSize,
    outcomes,
    findings: all,
  };
}

/** Minimises in a watched worker of its own; a candidate that hangs ends it with the best so far. */
async function minimiseFinding(o: CampaignOptions, f: Finding, shared: SharedArrayBuffer): Promise<Uint8Array> {
  const run = await runWorker(
    {
      mode: "minimise",
      target: o.target,
      seed: o.seed,
      count: 0,
      corpusDir: o.corpusDir,
      inputMemoryBytes: o.inputMemoryBytes,
      shared,
      input: f.input,
      signature: f.signature,
      budget: o.minimiseBudget,
    },
    o,
  );
  return run.smaller ?? f.input;
}

/** Writes `<signature hash>.bin` (as found), `.min.bin` (minimised) and `.txt` (what happened). */
function saveFinding(o: CampaignOptions, f: Finding): string {
  const id = createHash("sha1").update(f.signature).digest("hex").slice(0, 12);
  const base = join(o.findingsDir, o.target, `${f.kind}-${id}`);
  writeFileSync(`${base}.bin`, f.input);
  if (f.minimised) writeFileSync(`${base}.min.bin`, f.minimised);
  const shown = f.minimised ?? f.input;
  writeFileSync(
    `${base}.txt`,
    [
      `target: ${o.target}`,
      `kind: ${f.kind}`,
      `signature: ${f.signature}`,
      `occurrences: ${f.occurrences}`,
      `input: ${f.input.length} bytes${f.minimised ? `, minimised to ${f.minimised.length} bytes` : ""}`,
      `input (${f.minimised ? "minimised, " : ""}JSON-escaped latin1): ${JSON.stringify(Buffer.from(shown).toString("latin1"))}`,
      `message: ${f.message}`,
      "",
      f.stack,
      "",
    ].join("\n"),
  );
  return `${base}.bin`;
}
