#!/usr/bin/env node
// Scale-out benchmark: one torrent downloaded by a shoal cluster with 1, 2, 3, ... peer-workers,
// each in a network namespace of its own behind a link capped both ways with tc, so each worker's
// link is the bottleneck as on separate machines. Seeds, tracker, Redis, NATS, the S3 server and
// the other services share an uncapped "infra" namespace. Reports the download phase's time and
// rate, the speed-up over one worker and its efficiency, and the CPU the lab used.
// Needs root. Usage: `node bench/scale-bench.mjs --help`, bench/README.md.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { UsageError, formatSize, parseSize } from "./lib/options.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TESTKIT_ENTRY = join(REPO_ROOT, "packages", "testkit", "dist", "index.js");
const SHOAL_BIN = join(REPO_ROOT, "packages", "cli", "bin", "shoal.js");

const USAGE = `usage: node bench/scale-bench.mjs [options]   (as root)

Downloads one payload with a shoal cluster of 1, 2, 3, ... peer-workers in turn, each worker in
a network namespace of its own behind a link capped to --rate in each direction (tc tbf), and
checks every object in the bucket. One job per run, on a fresh Redis and NATS.

options (default in brackets):
  --size SIZE        payload size; K, M, G mean KiB, MiB, GiB                      [128M]
  --rate SIZE        each worker's link cap per second, both directions            [2M]
  --workers LIST     comma-separated worker counts, 1 first                        [1,2,3,4]
  --seeds N          libtorrent seeds in the infra namespace (uncapped)            [8]
  --piece SIZE       piece length                                                  [256K]
  --runs N           jobs per worker count                                         [1]
  --timeout SEC      a job that takes longer fails                                 [900]
  --json FILE        write every run and the options as JSON
  --logs DIR         keep the services' and the submit's logs under DIR/<run>
  -h, --help         this text

MB/s is 10^6 payload bytes per second of the download phase, read from the job's progress
reports (one a second): from the first with bytes downloaded to the first with no piece
missing or claimed. Speed-up is against the median rate of one worker; efficiency is
speed-up / workers. Exit status: 0 if every job passed, 1 if any failed, 2 on a usage error.
`;

const log = (msg) => process.stderr.write(`[scale-bench ${new Date().toTimeString().slice(0, 8)}] ${msg}\n`);

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: "string", default: "128M" },
      rate: { type: "string", default: "2M" },
      workers: { type: "string", default: "1,2,3,4" },
      seeds: { type: "string", default: "8" },
      piece: { type: "string", default: "256K" },
      runs: { type: "string", default: "1" },
      timeout: { type: "string", default: "900" },
      json: { type: "string" },
      logs: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const int = (text, what, min) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${what} must be an integer >= ${min}, got "${text}"`);
    return n;
  };
  const workers = values.workers.split(",").map((w) => int(w.trim(), "--workers entry", 1));
  if (workers[0] !== 1) throw new UsageError(`--workers must start with 1 (the baseline of the speed-up), got "${values.workers}"`);
  if (workers.some((w, i) => i > 0 && w <= workers[i - 1])) throw new UsageError(`--workers must increase, got "${values.workers}"`);
  return {
    help: values.help,
    sizeBytes: parseSize(values.size, "--size"),
    rateBytes: parseSize(values.rate, "--rate"),
    workers,
    seeds: int(values.seeds, "--seeds", 1),
    pieceBytes: parseSize(values.piece, "--piece"),
    runs: int(values.runs, "--runs", 1),
    timeoutMs: int(values.timeout, "--timeout", 10) * 1000,
    json: values.json,
    logs: values.logs,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "-");

async function seedsUploaded(cluster) {
  const states = await Promise.all(cluster.seeds.map((s) => s.state()));
  return states.reduce((n, s) => n + s.uploaded, 0);
}

async function main(argv) {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError) && err?.code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION" && err?.code !== "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw err;
    process.stderr.write(`scale-bench: ${err.message}\n(see --help)\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(TESTKIT_ENTRY) || !existsSync(join(REPO_ROOT, "packages", "cli", "dist", "main.js"))) {
    process.stderr.write("scale-bench: build first: npx tsc -b\n");
    return 2;
  }
  const tk = await import(TESTKIT_ENTRY);
  const unsupported = tk.netnsLabUnsupported();
  if (unsupported !== undefined) {
    process.stderr.write(`scale-bench: cannot build a network lab here: ${unsupported}\n`);
    return 2;
  }
  const maxWorkers = opts.workers.at(-1);
  log(`building the lab: ${maxWorkers} worker namespaces at ${formatSize(opts.rateBytes)}/s each way, ${opts.seeds} seeds of ${formatSize(opts.sizeBytes)}`);
  const cluster = await tk.startLabCluster({
    maxWorkers,
    workerRateBytesPerSec: opts.rateBytes,
    payload: { name: "scale-bench", size: opts.sizeBytes, seed: "scale-bench" },
    pieceLength: opts.pieceBytes,
    seeds: opts.seeds,
    shoal: { command: process.execPath, args: [SHOAL_BIN] },
  });
  let closing;
  const close = () => (closing ??= cluster.close());
  for (const [sig, num] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]]) {
    process.on(sig, () => {
      log(`${sig}: removing the lab`);
      void close().finally(() => process.exit(128 + num));
    });
  }
  log(`lab ${cluster.lab.name} on ${cluster.lab.subnet}; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);

  const results = [];
  try {
    for (let run = 1; run <= opts.runs; run++) {
      for (const workers of opts.workers) {
        const label = `w${workers}-r${run}`;
        log(`${label}: ${workers} worker(s)`);
        const seedCpu0 = cluster.seedCpuSeconds();
        const up0 = await seedsUploaded(cluster);
        const r = await cluster.runJob({
          workers,
          prefix: `bench/${label}`,
          timeoutMs: opts.timeoutMs,
          ...(opts.logs === undefined ? {} : { logDir: join(opts.logs, label) }),
        });
        const seedUploaded = (await seedsUploaded(cluster)) - up0;
        const problems = r.failure === undefined ? await cluster.bucketProblems(`bench/${label}`) : [];
        const reason = r.failure ?? (problems.length > 0 ? problems.slice(0, 3).join("; ") : undefined);
        const { events: _events, ...rest } = r;
        const one = {
          ...rest,
          workers,
          run,
          mbps: r.totalBytes / 1e6 / r.seconds,
          seedCpuSeconds: cluster.seedCpuSeconds() - seedCpu0,
          seedUploaded,
          labCores: r.labCpuSeconds / r.jobWallSeconds,
          reason,
        };
        results.push(one);
        log(`${label}: ${reason === undefined ? "PASS" : `FAIL (${reason})`} ${fmt(r.seconds, 1)} s, ${fmt(one.mbps)} MB/s`);
      }
    }
  } finally {
    await close();
  }

  const baseline = median(results.filter((r) => r.workers === 1 && r.reason === undefined).map((r) => r.mbps));
  const lines = [];
  for (const r of results) {
    r.speedup = r.mbps / baseline;
    r.efficiency = r.speedup / r.workers;
    const svcCpu = Object.values(r.serviceCpuSeconds).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `RESULT workers=${r.workers} run=${r.run} size=${formatSize(opts.sizeBytes)} rate=${formatSize(opts.rateBytes)}/s seconds=${fmt(r.seconds, 1)} MBps=${fmt(r.mbps)} ` +
        `speedup=${fmt(r.speedup)} efficiency=${fmt(r.efficiency)} stored_s=${fmt(r.storedSeconds, 1)} seed_sent_x=${fmt(r.seedUploaded / r.totalBytes)} ` +
        `worker_MB=${r.workerBytes.map((b) => fmt(b / 1e6, 0)).join("/")} service_cpu_s=${fmt(svcCpu, 1)} seed_cpu_s=${fmt(r.seedCpuSeconds, 1)} ` +
        `lab_cores=${fmt(r.labCores)} machine_busy=${fmt(r.machineBusy)} ${r.reason === undefined ? "PASS" : `FAIL (${r.reason})`}\n`,
    );
    lines.push(
      `| ${r.workers} | ${fmt(r.seconds, 1)} | ${fmt(r.mbps)} | ${fmt(r.speedup)} | ${fmt(r.efficiency)} | ${fmt(r.storedSeconds, 1)} | ${fmt(r.seedUploaded / r.totalBytes)} | ` +
        `${fmt(svcCpu, 1)} | ${fmt(r.seedCpuSeconds, 1)} | ${fmt(r.labCores)} | ${fmt(r.machineBusy * 100, 0)} % |`,
    );
  }
  process.stdout.write(
    `\n| workers | download s | MB/s | speed-up | efficiency | all stored s | seeds sent / payload | services CPU s | seeds CPU s | lab cores | machine busy |\n` +
      `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n${lines.join("\n")}\n`,
  );
  if (opts.json !== undefined) {
    const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout.trim();
    await writeFile(opts.json, `${JSON.stringify({ commit, options: opts, results }, null, 1)}\n`);
  }
  return results.every((r) => r.reason === undefined) ? 0 : 1;
}

let exitCode;
try {
  exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`scale-bench: ${err?.stack ?? err}\n`);
  exitCode = 2;
}
process.exit(exitCode);
