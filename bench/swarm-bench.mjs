#!/usr/bin/env node
// Local swarm benchmark: opentracker and N libtorrent seeds on 127.0.0.1, each client downloads
// the same payload from them in turn; wall time, peak RSS and CPU are measured and every byte is
// checked. Usage and output format: `node bench/swarm-bench.mjs --help` and bench/README.md.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { USAGE, UsageError, formatSize, parseOptions } from "./lib/options.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TESTKIT_ENTRY = join(REPO_ROOT, "packages", "testkit", "dist", "index.js");

/** Hashing one GiB per seed takes seconds; this leaves room for a cold disk and many seeds. */
const SEED_READY_BASE_MS = 60_000;
/** Seeds hash at hundreds of MB/s; budget a pessimistic 20 MB/s for all of them together. */
const SEED_READY_BYTES_PER_MS = 20_000;
/** Lines of a failed client's log shown on stderr. */
const FAILED_LOG_LINES = 15;

const log = (msg) => process.stderr.write(`[bench ${new Date().toTimeString().slice(0, 8)}] ${msg}\n`);

// ---------------------------------------------------------------- cleanup and signals
/** Undo actions (stop a process, remove a directory), run newest first on exit or interrupt. */
const cleanups = new Set();
let interrupted = false;

function onCleanup(fn) {
  const entry = { fn };
  cleanups.add(entry);
  return () => cleanups.delete(entry);
}

async function runCleanups() {
  for (const entry of [...cleanups].reverse()) {
    cleanups.delete(entry);
    try {
      await entry.fn();
    } catch (err) {
      log(`cleanup: ${err.message}`);
    }
  }
}

class Interrupted extends Error {}

function checkInterrupted() {
  if (interrupted) throw new Interrupted("interrupted");
}

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
for (const [sig, num] of Object.entries(SIGNAL_NUMBERS)) {
  process.on(sig, () => {
    // A second signal while cleaning up: leave at once. The testkit kills its children on exit.
    if (interrupted) process.exit(128 + num);
    interrupted = true;
    log(`${sig}: stopping every process started here and removing temporary files`);
    void runCleanups().finally(() => process.exit(128 + num));
  });
}

// ---------------------------------------------------------------- helpers
function commandOutput(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

const CLOCK_TICKS_PER_S = Number(commandOutput("getconf", ["CLK_TCK"])) || 100;

/** utime + stime of a live process, in seconds (0 once it is gone). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop().split(" ");
    // After "comm) ": state is field 0, utime field 11 and stime field 12 (proc(5)).
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** Whether an executable exists at this absolute path or in a PATH directory. */
function onPath(name) {
  const dirs = name.startsWith("/") ? [""] : (process.env.PATH ?? "").split(":").filter(Boolean);
  return dirs.some((d) => {
    try {
      accessSync(d === "" ? name : join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function tailLines(path, n) {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------- one download
async function runOnce(ctx, client, run) {
  const { tk, opts, tracker, torrentPath, payload, recipes, timedRun } = ctx;
  checkInterrupted();
  // A fresh tracker per download: the previous downloader's address must not be handed out.
  await tracker.restart();

  const runDir = join(ctx.workDir, `${client}-${run}`);
  const outDir = join(runDir, "out");
  await mkdir(outDir, { recursive: true });

  const seeds = [];
  const stopSeeds = async () => {
    await Promise.all(seeds.splice(0).map((s) => s.stop()));
  };
  const undoSeeds = onCleanup(stopSeeds);
  try {
    const readyTimeoutMs = SEED_READY_BASE_MS + Math.ceil((payload.totalBytes * opts.seeds) / SEED_READY_BYTES_PER_MS);
    for (let i = 0; i < opts.seeds; i++) {
      checkInterrupted();
      seeds.push(
        await tk.startLibtorrentSeed({
          torrentPath,
          dataDir: payload.dataDir,
          ip: "127.0.0.1",
          readyTimeoutMs,
          skipHashCheck: opts.seedCheck === "lazy",
          // Seeds that take RC4-encrypted connections only: what protocol encryption costs.
          ...(client === "shoal-rc4" ? { encryption: "forced" } : {}),
        }),
      );
    }
    const t0 = performance.now();
    await Promise.all(seeds.map((s) => s.ready));
    log(`run ${run}/${opts.runs} ${client}: ${seeds.length} seeds ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const listed = await tracker.peersOf(ctx.infoHash);
    const missing = seeds.map((s) => `${s.ip}:${s.port}`).filter((a) => !listed.includes(a));
    if (missing.length > 0) throw new Error(`tracker does not list seeds ${missing.join(", ")}`);

    checkInterrupted();
    const { command, args } = recipes[client].command({
      torrent: torrentPath,
      out: outDir,
      runDir,
      port: await tk.freePort("127.0.0.1"),
      udpPort: await tk.freePort("127.0.0.1"),
      tracker: opts.tracker,
      timeoutMs: opts.timeoutMs,
    });
    const logPath = join(runDir, "client.log");
    log(`run ${run}/${opts.runs} ${client}: ${command} ${args.join(" ")}`);
    const seedCpu0 = seeds.reduce((t, s) => t + cpuSeconds(s.pid), 0);
    const res = await timedRun.runTimed({ name: client, command, args, cwd: REPO_ROOT, logPath, timeoutMs: opts.timeoutMs, onCleanup });
    const seedCpu1 = seeds.reduce((t, s) => t + cpuSeconds(s.pid), 0);
    checkInterrupted();

    let reason;
    if (res.timedOut) reason = `timed out after ${opts.timeoutMs / 1000} s`;
    else if (res.startError !== undefined) reason = `could not start: ${res.startError}`;
    else if (res.exitCode !== 0) reason = res.signal === null ? `exit status ${res.exitCode}` : `killed by ${res.signal}`;
    else reason = await timedRun.verifyDownload(outDir, payload.files);
    const seedUploads = await Promise.all(seeds.map(async (s) => (await s.state()).uploaded));

    if (reason !== undefined) {
      log(`run ${run}/${opts.runs} ${client} FAILED: ${reason}; last lines of ${logPath}:`);
      process.stderr.write(`${tailLines(logPath, FAILED_LOG_LINES)}\n`);
    }
    return {
      client,
      run,
      bytes: payload.totalBytes,
      seconds: res.seconds,
      maxRssKiB: res.maxRssKiB,
      userS: res.userS,
      sysS: res.sysS,
      seedCpuS: seedCpu1 - seedCpu0,
      seedUploads,
      reason,
    };
  } finally {
    await stopSeeds();
    undoSeeds();
    // Keep the logs with --keep; the downloaded copy always goes (it can be a GiB).
    await rm(opts.keep ? outDir : runDir, { recursive: true, force: true });
    // Write back the dirty pages now, not during the next client's download.
    spawnSync("sync");
  }
}

// ---------------------------------------------------------------- main
async function main(argv) {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`swarm-bench: ${err.message}\n(see --help)\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(TESTKIT_ENTRY)) {
    process.stderr.write(`swarm-bench: ${TESTKIT_ENTRY} is missing; build first: npx tsc -b\n`);
    return 2;
  }
  const tk = await import(TESTKIT_ENTRY);
  const { clientRecipes, missingPrerequisites } = await import("./lib/clients.mjs");
  const { ensurePayload } = await import("./lib/payload-cache.mjs");
  const timedRun = await import("./lib/timed-run.mjs");
  const report = await import("./lib/report.mjs");

  const recipes = clientRecipes(REPO_ROOT);
  const problems = missingPrerequisites(recipes, opts.clients);
  for (const [tool, pkg] of [["/usr/bin/time", "time"], ["opentracker", "opentracker"], ["mktorrent", "mktorrent"]]) {
    if (!onPath(tool)) problems.push(`${tool} is missing (apt-get install ${pkg})`);
  }
  if (problems.length > 0) {
    process.stderr.write(`swarm-bench: cannot run:\n  ${[...new Set(problems)].join("\n  ")}\n`);
    return 2;
  }

  const workDir = await mkdtemp(join(tmpdir(), "shoal-bench-"));
  onCleanup(async () => {
    if (opts.keep) log(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  });

  const payload = await ensurePayload(opts, onCleanup, log);
  // A payload written just now is still in dirty pages; flushed during the first download, it
  // would slow that client down (by a third for 1 GiB on a 2-core machine).
  if (!payload.reused) spawnSync("sync");
  checkInterrupted();
  // The torrent needs the tracker's address and the tracker needs the torrent's info hash:
  // start it serving nothing, write the torrent, then whitelist the hash.
  const tracker = await tk.startOpentracker({ infoHashes: [] });
  onCleanup(() => tracker.stop());
  const announce = opts.tracker === "udp" ? tracker.udpAnnounce : tracker.httpAnnounce;
  const torrentPath = join(workDir, "bench.torrent");
  log(`torrent: mktorrent, piece ${opts.pieceBytes} bytes, announce ${announce}`);
  const made = await tk.makeTorrent({
    path: join(payload.dataDir, payload.name),
    out: torrentPath,
    announce: [[announce]],
    pieceLength: opts.pieceBytes,
  });
  if (made.summary.totalBytes !== payload.totalBytes) {
    throw new Error(`torrent covers ${made.summary.totalBytes} bytes, payload has ${payload.totalBytes}`);
  }
  await tracker.allow(made.announceHashes);

  const ctx = {
    tk, opts, tracker, torrentPath, payload, recipes, timedRun, workDir, infoHash: made.infoHashHex,
  };
  const lineCtx = {
    size: formatSize(opts.sizeBytes),
    piece: formatSize(opts.pieceBytes),
    seeds: opts.seeds,
    files: opts.files,
    runs: opts.runs,
    tracker: opts.tracker,
    seedCheck: opts.seedCheck,
    startedAt: new Date().toISOString(),
    commit: commandOutput("git", ["rev-parse", "--short", "HEAD"]) || "unknown",
  };

  const results = [];
  for (let run = 1; run <= opts.runs; run++) {
    // Rotate the order each run, so no client always goes first (cold caches, thermal state).
    const order = opts.clients.map((_, i) => opts.clients[(i + run - 1) % opts.clients.length]);
    for (const client of order) {
      const r = await runOnce(ctx, client, run);
      results.push(r);
      process.stdout.write(`${report.resultLine(lineCtx, r)}\n`);
      if (opts.results !== undefined) await report.appendTsv(opts.results, lineCtx, [r]);
    }
  }
  for (const line of report.summaryLines(report.summarize(opts.clients, results))) process.stdout.write(`${line}\n`);
  return results.every((r) => r.reason === undefined) ? 0 : 1;
}

let exitCode;
try {
  exitCode = await main(process.argv.slice(2));
} catch (err) {
  // After an interrupt, whatever failed was cut short by the cleanup; that is not news.
  if (!interrupted) {
    process.stderr.write(`swarm-bench: ${err?.stack ?? err}\n`);
    exitCode = 2;
  }
} finally {
  if (!interrupted) await runCleanups();
}
// An interrupt's handler exits by itself once its cleanup is done.
if (!interrupted) process.exit(exitCode);
