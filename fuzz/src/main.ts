import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runCampaign, type CampaignReport } from "./campaign.js";
import { MUTATOR_NAMES } from "./mutate.js";
import { runWorker, sharedFor } from "./supervisor.js";
import { SELF_CHECK_PREFIX, SELF_CHECK_TRIGGERS, type SelfCheckTrigger } from "./targets/self-check.js";
import { TARGET_NAMES, loadTarget } from "./targets/index.js";

const USAGE = `usage: npm run fuzz -- [options]

Drives every decoder of outside input with generated and mutated inputs, each input under a
time limit, in a worker thread. Findings (and minimised versions) go to --out.

  --target a,b        targets to run, one after the other (default: all; see --list)
  --count N           inputs per target (default 1000000)
  --seed N            seed of the input streams (default 1)
  --time-limit-ms N   an input running longer is a hang (default 2000)
  --heap-mb N         worker heap; running out of it is a finding (default 4096, above the
                      largest single JS allocation, so a blow-up kills the worker, not the run)
  --input-memory-mb N one input allocating more than this is a finding (default 256)
  --out DIR           findings directory (default fuzz/findings)
  --no-minimise       save findings as found, without minimising them
  --replay FILE       run one saved input through --target and print what happens
  --list              list the targets
  --self-check        run deliberately broken targets and check each failure kind is caught
  --help`;

const fuzzRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));

function parse() {
  const { values } = parseArgs({
    options: {
      target: { type: "string" },
      count: { type: "string" },
      seed: { type: "string" },
      "time-limit-ms": { type: "string" },
      "heap-mb": { type: "string" },
      "input-memory-mb": { type: "string" },
      out: { type: "string" },
      "no-minimise": { type: "boolean" },
      replay: { type: "string" },
      list: { type: "boolean" },
      "self-check": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  const int = (name: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
    return n;
  };
  const targets = values.target === undefined || values.target === "all" ? [...TARGET_NAMES] : values.target.split(",");
  for (const t of targets) {
    if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`unknown target ${t}; known: ${TARGET_NAMES.join(", ")}`);
  }
  return {
    help: values.help === true,
    list: values.list === true,
    selfCheck: values["self-check"] === true,
    replay: values.replay,
    targets,
    count: int("count", values.count, 1_000_000),
    seed: int("seed", values.seed, 1),
    timeLimitMs: int("time-limit-ms", values["time-limit-ms"], 2_000),
    heapMb: int("heap-mb", values["heap-mb"], 4096),
    inputMemoryBytes: int("input-memory-mb", values["input-memory-mb"], 256) * 1024 * 1024,
    out: resolve(values.out ?? join(fuzzRoot, "findings")),
    minimise: values["no-minimise"] !== true,
  };
}

type Options = ReturnType<typeof parse>;

const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

function summary(r: CampaignReport): string {
  const top = Object.entries(r.outcomes)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([label, n]) => `${label} ${((100 * n) / Math.max(1, r.runs)).toFixed(1)}%`)
    .join(", ");
  const lines = [
    `${r.target}: ${r.runs.toLocaleString("en")} inputs (${r.generated.toLocaleString("en")} generated, ${r.mutated.toLocaleString("en")} mutated) in ${r.seconds.toFixed(1)} s, ${Math.round(r.inputsPerSecond).toLocaleString("en")}/s`,
    `  ${Object.keys(r.outcomes).length} distinct outcomes, pool ${r.poolSize}, slowest input ${r.slowestMs.toFixed(1)} ms, worker restarts ${r.workerRestarts}`,
    `  most common: ${top}`,
    `  findings: ${r.findings.length}`,
    ...r.findings.map((f) => `    [${f.kind}] x${f.occurrences} ${f.signature}\n      ${f.file ?? ""}${f.minimised ? ` (minimised to ${f.minimised.length} bytes)` : ""}`),
  ];
  return lines.join("\n");
}

async function fuzzTargets(o: Options): Promise<number> {
  mkdirSync(o.out, { recursive: true });
  let failing = 0;
  for (const name of o.targets) {
    const target = await loadTarget(name);
    log(`${name}: ${o.count.toLocaleString("en")} inputs, seed ${o.seed}, time limit ${o.timeLimitMs} ms per input`);
    const report = await runCampaign({
      target: name,
      count: o.count,
      seed: o.seed,
      corpusDir: join(fuzzRoot, "corpus", name),
      findingsDir: o.out,
      inputMemoryBytes: o.inputMemoryBytes,
      maxInputBytes: target.maxInputBytes,
      timeLimitMs: o.timeLimitMs,
      heapMb: o.heapMb,
      minimise: o.minimise,
      minimiseBudget: 20_000,
      log,
    });
    writeFileSync(
      join(o.out, `report-${name}.json`),
      JSON.stringify(
        { ...report, findings: report.findings.map(({ input: _, minimised: __, ...f }) => f) },
        null,
        2,
      ),
    );
    console.log(summary(report));
    if (report.findings.length > 0) failing++;
  }
  return failing === 0 ? 0 : 1;
}

async function replay(o: Options): Promise<number> {
  if (o.targets.length !== 1) throw new Error("--replay needs exactly one --target");
  const name = o.targets[0]!;
  const input = new Uint8Array(readFileSync(o.replay!));
  const target = await loadTarget(name);
  const run = await runWorker(
    {
      mode: "replay",
      target: name,
      seed: o.seed,
      count: 1,
      corpusDir: "",
      inputMemoryBytes: o.inputMemoryBytes,
      shared: sharedFor(Math.max(target.maxInputBytes, input.length)),
      input,
    },
    o,
  );
  const finding = run.replayed?.finding ?? run.findings[0];
  if (finding) {
    console.log(`${name}: FINDING [${finding.kind}] ${finding.signature}\n${finding.message}\n${finding.stack}`);
    return 1;
  }
  console.log(`${name}: ${run.replayed?.outcome ?? "no outcome"}`);
  return 0;
}

/**
 * Runs the broken targets of self-check.ts, one campaign per failure kind, and checks that the
 * harness reports each: an exception, a broken invariant, a hang, a memory blow-up and a worker
 * killed by an exhausted heap. A harness that missed one would report a clean run of a broken
 * decoder. The exception must also come out of minimisation as its 1-byte trigger.
 */
async function selfCheck(o: Options): Promise<number> {
  const problems: string[] = [];
  for (const [trigger, kind] of Object.entries(SELF_CHECK_TRIGGERS) as Array<[SelfCheckTrigger, string]>) {
    const report = await runCampaign({
      target: `${SELF_CHECK_PREFIX}${trigger}`,
      count: 600,
      seed: o.seed,
      corpusDir: "",
      findingsDir: join(o.out, "self-check"),
      inputMemoryBytes: 64 * 1024 * 1024,
      maxInputBytes: 64,
      // Long enough for the heap of 128 MiB to run out before the input counts as hung.
      timeLimitMs: 8_000,
      heapMb: 128,
      minimise: true,
      minimiseBudget: 2_000,
      log,
    });
    console.log(summary(report));
    const found = report.findings.filter((f) => f.kind === kind);
    if (found.length === 0) problems.push(`${trigger}: no ${kind} reported`);
    if (kind === "exception" && !found.every((f) => f.minimised?.length === 1)) problems.push(`${trigger}: not minimised to its trigger`);
  }
  if (problems.length > 0) {
    console.log(`self-check FAILED: ${problems.join("; ")}`);
    return 1;
  }
  console.log(`self-check passed: ${Object.values(SELF_CHECK_TRIGGERS).join(", ")} each caught and saved`);
  return 0;
}

async function main(): Promise<number> {
  const o = parse();
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (o.list) {
    for (const name of TARGET_NAMES) console.log(`${name}: ${(await loadTarget(name)).description}`);
    console.log(`\nmutators: ${MUTATOR_NAMES.join(", ")}`);
    return 0;
  }
  if (o.selfCheck) return selfCheck(o);
  if (o.replay !== undefined) return replay(o);
  return fuzzTargets(o);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    console.error(USAGE);
    process.exit(2);
  },
);
