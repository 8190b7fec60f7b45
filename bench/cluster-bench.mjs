#!/usr/bin/env node
// Cluster benchmark: one torrent from a local swarm (opentracker + libtorrent seeds on
// 127.0.0.1) lands in an S3 bucket (Swift with s3api on loopback), either downloaded by
// libtorrent and then uploaded, or by a shoal cluster of service processes over Redis and NATS.
// It measures time, S3 traffic, Redis commands, NATS messages, peak memory and CPU of each, and
// checks every object in the bucket. Usage: `node bench/cluster-bench.mjs --help`, bench/README.md.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { CLUSTER_USAGE, UsageError, parseClusterOptions } from "./lib/cluster-options.mjs";
import { formatSize } from "./lib/options.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TESTKIT_ENTRY = join(REPO_ROOT, "packages", "testkit", "dist", "index.js");
const SHOAL_BIN = join(REPO_ROOT, "packages", "cli", "bin", "shoal.js");
const LEECH_SCRIPT = join(REPO_ROOT, "packages", "testkit", "py", "leech.py");
const UPLOADER = join(REPO_ROOT, "bench", "lib", "s3-upload.mjs");
const BUCKET = "shoal-bench";

/** Hashing one GiB per seed takes seconds; this leaves room for a cold disk and many seeds. */
const SEED_READY_BASE_MS = 60_000;
const SEED_READY_BYTES_PER_MS = 20_000;
/** Node services on two busy cores take seconds to load and connect; a minute means stuck. */
const SERVICE_READY_TIMEOUT_MS = 120_000;
/** A draining service flushes and releases its claims; longer than this it is killed. */
const SERVICE_STOP_GRACE_MS = 20_000;
const FAILED_LOG_LINES = 15;

const log = (msg) => process.stderr.write(`[cluster-bench ${new Date().toTimeString().slice(0, 8)}] ${msg}\n`);

// ---------------------------------------------------------------- cleanup and signals
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

function tailLines(path, n) {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Resolves with the metrics port once the service's log says it runs; rejects if it exits first. */
async function serviceReady(proc) {
  const deadline = performance.now() + SERVICE_READY_TIMEOUT_MS;
  for (;;) {
    checkInterrupted();
    const m = /metrics and health on port (\d+)/.exec(readFileSync(proc.logPath, "utf8"));
    if (m !== null) return Number(m[1]);
    if (proc.exitStatus() !== undefined) throw new Error(`${proc.name} exited before it was ready:\n${proc.logTail(FAILED_LOG_LINES)}`);
    if (performance.now() > deadline) throw new Error(`${proc.name} not ready within ${SERVICE_READY_TIMEOUT_MS / 1000} s:\n${proc.logTail(FAILED_LOG_LINES)}`);
    await delay(100);
  }
}

/**
 * Aborts when the job's progress, as `submit --json` prints it each second, stops changing for
 * `stallMs`: pieces by state and bytes downloaded. The reason names the state it stopped in.
 */
function watchForStall(submitLog, stallMs) {
  const controller = new AbortController();
  let last = "";
  let since = performance.now();
  const timer = setInterval(() => {
    let text;
    try {
      text = readFileSync(submitLog, "utf8");
    } catch {
      return;
    }
    const line = text.trimEnd().split("\n").reverse().find((l) => l.startsWith('{"event":"progress"'));
    if (line === undefined) return;
    let p;
    try {
      p = JSON.parse(line);
    } catch {
      return;
    }
    const state = JSON.stringify({ pieceStates: p.pieceStates, downloadedBytes: p.downloadedBytes, storedPieces: p.storedPieces });
    if (state !== last) {
      last = state;
      since = performance.now();
    } else if (performance.now() - since > stallMs) {
      clearInterval(timer);
      controller.abort(new Error(`stalled: no progress for ${stallMs / 1000} s, pieces ${JSON.stringify(p.pieceStates)}, ${p.downloadedBytes} bytes downloaded`));
    }
  }, 1000);
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

// ---------------------------------------------------------------- the bucket
/** Keys under `prefix` with their sizes. */
async function listKeys(minio, prefix) {
  const out = new Map();
  for await (const o of minio.listObjectsV2(BUCKET, `${prefix}/`, true)) if (o.name !== undefined) out.set(o.name, o.size);
  return out;
}

/**
 * Compares the objects under `prefix` with the payload: the same keys, then each object's size
 * and sha256 (streamed). Returns undefined when all match, else a reason.
 */
async function verifyBucket(minio, prefix, files) {
  const got = await listKeys(minio, prefix);
  const bad = [];
  const want = new Set();
  for (const f of files) {
    const key = `${prefix}/${f.path}`;
    want.add(key);
    const size = got.get(key);
    if (size === undefined) {
      bad.push(`${key} missing`);
      continue;
    }
    if (size !== f.size) {
      bad.push(`${key} has ${size} bytes, expected ${f.size}`);
      continue;
    }
    const hash = createHash("sha256");
    let n = 0;
    for await (const chunk of await minio.getObject(BUCKET, key)) {
      hash.update(chunk);
      n += chunk.length;
    }
    if (n !== f.size) bad.push(`${key} read ${n} bytes, expected ${f.size}`);
    else if (hash.digest("hex") !== f.sha256) bad.push(`${key} sha256 differs`);
  }
  for (const key of got.keys()) if (!want.has(key)) bad.push(`${key} is not in the payload`);
  if (bad.length === 0) return undefined;
  const shown = bad.slice(0, 3).join("; ");
  return bad.length > 3 ? `${bad.length} objects wrong: ${shown}; ...` : shown;
}

/** Removes every object and unfinished upload under `prefix`. */
async function cleanPrefix(minio, s3, prefix) {
  const keys = [...(await listKeys(minio, prefix)).keys()];
  if (keys.length > 0) await minio.removeObjects(BUCKET, keys);
  for (const u of await s3.listMultipartUploads(BUCKET, `${prefix}/`)) await minio.abortMultipartUpload(BUCKET, u.key, u.uploadId);
}

// ---------------------------------------------------------------- one run
/** Fresh tracker peer list and `--seeds` seeds, all seeding and announced. */
async function startSeeds(ctx, label) {
  const { tk, opts, tracker, torrentPath, payload } = ctx;
  await tracker.restart();
  const seeds = [];
  const stop = async () => {
    await Promise.all(seeds.splice(0).map((s) => s.stop()));
  };
  const undo = onCleanup(stop);
  const readyTimeoutMs = SEED_READY_BASE_MS + Math.ceil((payload.totalBytes * opts.seeds) / SEED_READY_BYTES_PER_MS);
  for (let i = 0; i < opts.seeds; i++) {
    checkInterrupted();
    seeds.push(await tk.startLibtorrentSeed({ torrentPath, dataDir: payload.dataDir, ip: "127.0.0.1", readyTimeoutMs }));
  }
  const t0 = performance.now();
  await Promise.all(seeds.map((s) => s.ready));
  log(`${label}: ${seeds.length} seeds ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const listed = await tracker.peersOf(ctx.infoHash);
  const missing = seeds.map((s) => `${s.ip}:${s.port}`).filter((a) => !listed.includes(a));
  if (missing.length > 0) throw new Error(`tracker does not list seeds ${missing.join(", ")}`);
  return {
    seeds,
    cpu: () => seeds.reduce((t, s) => t + ctx.metrics.cpuSeconds(s.pid), 0),
    stop: async () => {
      await stop();
      undo();
    },
  };
}

/** CPU seconds of the S3 server's processes (Swift and memcached), all together. */
function s3ServerCpu(ctx) {
  const { descendants, commandLine, cpuSeconds } = ctx.metrics;
  return descendants(process.pid)
    .filter((pid) => /swift-|memcached/.test(commandLine(pid)))
    .reduce((t, pid) => t + cpuSeconds(pid), 0);
}

function failure(res, timeoutMs) {
  if (res.timedOut) return `timed out after ${timeoutMs / 1000} s`;
  if (res.aborted !== undefined) return res.aborted;
  if (res.startError !== undefined) return `could not start: ${res.startError}`;
  if (res.exitCode !== 0) return res.signal === null ? `exit status ${res.exitCode}` : `killed by ${res.signal}`;
  return undefined;
}

async function runDownloadThenUpload(ctx, run, runDir, prefix) {
  const { tk, opts, torrentPath, timedRun, s3 } = ctx;
  const outDir = join(runDir, "out");
  await mkdir(outDir, { recursive: true });
  const s3Cpu0 = s3ServerCpu(ctx);
  const dl = await timedRun.runTimed({
    name: "libtorrent",
    command: "/usr/bin/python3",
    args: [LEECH_SCRIPT, "--torrent", torrentPath, "--out", outDir, "--ip", "127.0.0.1", "--port", String(await tk.freePort("127.0.0.1")), "--timeout", String(Math.ceil(opts.timeoutMs / 1000) + 60)],
    cwd: REPO_ROOT,
    logPath: join(runDir, "libtorrent.log"),
    timeoutMs: opts.timeoutMs,
    onCleanup,
  });
  const out = {
    phases: { download: dl.seconds },
    rssKiB: { libtorrent: dl.maxRssKiB },
    cpuS: { libtorrent: dl.userS + dl.sysS },
    s3: { written: 0, read: 0, retries: 0, requests: {} },
    redisCommands: 0,
    redisPeakBytes: 0,
    nats: { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 },
    backendCpuS: { s3: 0, redis: 0, nats: 0 },
    seconds: dl.seconds,
    reason: failure(dl, opts.timeoutMs),
    logs: [join(runDir, "libtorrent.log")],
  };
  if (out.reason !== undefined) return { ...out, reason: `download ${out.reason}` };
  checkInterrupted();
  const remainingMs = Math.max(1000, opts.timeoutMs - dl.seconds * 1000);
  const upLog = join(runDir, "uploader.log");
  const up = await timedRun.runTimed({
    name: "uploader",
    command: process.execPath,
    args: [UPLOADER, "--endpoint", s3.endpoint, "--bucket", BUCKET, "--prefix", prefix, "--dir", outDir, "--part", String(opts.partBytes), "--parallel", String(opts.parallel), "--checksum", opts.refChecksum],
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region },
    logPath: upLog,
    timeoutMs: remainingMs,
    onCleanup,
  });
  out.backendCpuS.s3 = s3ServerCpu(ctx) - s3Cpu0;
  out.logs.push(upLog);
  out.phases.upload = up.seconds;
  out.seconds = dl.seconds + up.seconds;
  out.rssKiB.uploader = up.maxRssKiB;
  out.cpuS.uploader = up.userS + up.sysS;
  const reason = failure(up, remainingMs);
  if (reason !== undefined) return { ...out, reason: `upload ${reason}` };
  const report = JSON.parse(readFileSync(upLog, "utf8").trim().split("\n").filter((l) => l.startsWith("{")).pop() ?? "{}");
  out.s3 = { written: report.bytes ?? NaN, read: 0, retries: 0, requests: report.requests ?? {} };
  return out;
}

async function runCluster(ctx, run, runDir, prefix, workers) {
  const { tk, opts, torrentPath, timedRun, s3, metrics } = ctx;
  // Fresh Redis and NATS for every run: no job, claim, stream or consumer of an earlier run.
  const [redis, nats] = await Promise.all([tk.startRedisServer({ appendOnly: true }), tk.startNatsServer({ maxPayloadBytes: opts.natsMaxPayloadBytes })]);
  const stopBackends = () => Promise.allSettled([redis.stop(), nats.stop()]);
  const undoBackends = onCleanup(stopBackends);
  const env = {
    ...process.env,
    SHOAL_REDIS_URL: redis.url,
    SHOAL_NATS_URL: nats.url,
    SHOAL_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    SHOAL_METRICS_PORT: "0",
  };
  const serviceEnv = { ...env, ...opts.serviceEnv };
  const names = ["tracker-poller", "piece-verifier", "storage-writer", ...Array.from({ length: workers }, (_, i) => `peer-worker-${i + 1}`)];
  const services = [];
  const stopServices = async () => {
    await Promise.all(services.map((s) => s.proc.stop(SERVICE_STOP_GRACE_MS)));
  };
  const undoServices = onCleanup(stopServices);
  try {
    for (const name of names) {
      const kind = name.replace(/-\d+$/, "");
      const proc = tk.startProcess({
        name,
        command: process.execPath,
        args: [...opts.serviceNodeArgs, SHOAL_BIN, "service", kind, ...(kind === "peer-worker" ? ["--port", "0"] : [])],
        cwd: REPO_ROOT,
        env: serviceEnv,
        logPath: join(runDir, `${name}.log`),
      });
      services.push({ name, proc });
    }
    const t0 = performance.now();
    for (const s of services) s.metricsPort = await serviceReady(s.proc);
    log(`run ${run}: ${services.length} services ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    checkInterrupted();

    const redis0 = await metrics.redisCommandsProcessed(redis.url);
    const redisMemory0 = await metrics.redisUsedMemory(redis.url);
    const redisMemory = metrics.watchRedisMemory(redis.url);
    const redisCalls0 = await metrics.redisCommandCalls(redis.url);
    const nats0 = await metrics.natsCounts(nats.monitorUrl);
    const cpu0 = Object.fromEntries(services.map((s) => [s.name, metrics.cpuSeconds(s.proc.pid)]));
    const backendCpu0 = { s3: s3ServerCpu(ctx), redis: metrics.cpuSeconds(redis.pid), nats: metrics.cpuSeconds(nats.pid) };
    const submitLog = join(runDir, "submit.log");
    const stall = watchForStall(submitLog, opts.stallMs);
    const res = await timedRun.runTimed({
      name: "submit",
      command: process.execPath,
      args: [SHOAL_BIN, "submit", torrentPath, "--to", `s3://${BUCKET}/${prefix}`, "--wait", "--json"],
      cwd: REPO_ROOT,
      logPath: submitLog,
      timeoutMs: opts.timeoutMs,
      signal: stall.signal,
      onCleanup,
      env,
    });
    stall.stop();
    // What the job added to Redis at its largest (claim table, leases, ledger, queue), per piece.
    const redisPeakBytes = (await redisMemory.stop()) - redisMemory0;
    // Everything is read before any service stops: a drain must not count.
    const redisCommands = (await metrics.redisCommandsProcessed(redis.url)) - redis0;
    const redisCalls = Object.fromEntries(
      Object.entries(metrics.diffCounts(await metrics.redisCommandCalls(redis.url), redisCalls0)).filter(([, n]) => n > 0),
    );
    const natsDelta = metrics.diffCounts(await metrics.natsCounts(nats.monitorUrl), nats0);
    const backendCpuS = {
      s3: s3ServerCpu(ctx) - backendCpu0.s3,
      redis: metrics.cpuSeconds(redis.pid) - backendCpu0.redis,
      nats: metrics.cpuSeconds(nats.pid) - backendCpu0.nats,
    };
    const s3Stats = { written: 0, read: 0, retries: 0, requests: {} };
    const rssKiB = { submit: res.maxRssKiB };
    const cpuS = { submit: res.userS + res.sysS };
    const perService = {};
    for (const s of services) {
      const m = await metrics.scrapeService(s.metricsPort);
      perService[s.name] = { s3Written: m.s3WrittenBytes, s3Read: m.s3ReadBytes, s3Requests: m.s3Requests };
      s3Stats.written += m.s3WrittenBytes;
      s3Stats.read += m.s3ReadBytes;
      s3Stats.retries += m.s3Retries;
      for (const [op, n] of Object.entries(m.s3Requests)) s3Stats.requests[op] = (s3Stats.requests[op] ?? 0) + n;
      rssKiB[s.name] = metrics.peakRssKiB(s.proc.pid);
      cpuS[s.name] = metrics.cpuSeconds(s.proc.pid) - cpu0[s.name];
    }
    let reason = failure(res, opts.timeoutMs);
    const exited = services.filter((s) => s.proc.exitStatus() !== undefined).map((s) => s.name);
    if (reason === undefined && exited.length > 0) reason = `service(s) exited during the run: ${exited.join(", ")}`;
    return {
      phases: { submit: res.seconds },
      seconds: res.seconds,
      rssKiB,
      cpuS,
      s3: s3Stats,
      perService,
      redisCommands,
      redisCalls,
      redisPeakBytes,
      nats: natsDelta,
      backendCpuS,
      reason,
      logs: [submitLog, ...services.map((s) => s.proc.logPath)],
    };
  } finally {
    await stopServices();
    undoServices();
    await stopBackends();
    undoBackends();
  }
}

/** The record of a run that could not be measured. */
function failedRun(reason) {
  return {
    phases: {},
    seconds: NaN,
    rssKiB: {},
    cpuS: {},
    s3: { written: NaN, read: NaN, retries: 0, requests: {} },
    redisCommands: NaN,
    redisPeakBytes: NaN,
    nats: { inMsgs: NaN, inBytes: NaN, outMsgs: NaN, outBytes: NaN },
    backendCpuS: { s3: NaN, redis: NaN, nats: NaN },
    reason,
    logs: [],
  };
}

async function runOnce(ctx, variant, run) {
  const { opts, payload, minio, s3 } = ctx;
  checkInterrupted();
  const label = `run ${run}/${opts.runs} ${variant}`;
  const runDir = join(ctx.workDir, `${variant}-${run}`);
  await mkdir(runDir, { recursive: true });
  const prefix = `bench/${variant}-run${run}`;
  await cleanPrefix(minio, s3, prefix);
  const swarm = await startSeeds(ctx, label);
  let r;
  const seedCpu0 = swarm.cpu();
  try {
    log(`${label}: start`);
    r = variant === "download-then-upload" ? await runDownloadThenUpload(ctx, run, runDir, prefix) : await runCluster(ctx, run, runDir, prefix, variant === "shoal-cluster-3" ? 3 : 1);
  } catch (err) {
    // A service that never became ready fails this run, not the whole invocation.
    if (err instanceof Interrupted || interrupted) throw err;
    r = failedRun(err.message);
  } finally {
    if (r !== undefined) r.seedCpuS = swarm.cpu() - seedCpu0;
    await swarm.stop();
  }
  checkInterrupted();
  if (r.reason === undefined) {
    log(`${label}: checking the objects in the bucket`);
    r.reason = await verifyBucket(minio, prefix, payload.files);
  }
  if (r.reason === undefined) {
    const open = await s3.listMultipartUploads(BUCKET, `${prefix}/`);
    if (open.length > 0) r.reason = `${open.length} multipart upload(s) left unfinished`;
  }
  if (r.reason !== undefined) {
    log(`${label} FAILED: ${r.reason}`);
    for (const path of r.logs) process.stderr.write(`--- last lines of ${path}:\n${tailLines(path, FAILED_LOG_LINES)}\n`);
  }
  await cleanPrefix(minio, s3, prefix);
  await rm(opts.keep ? join(runDir, "out") : runDir, { recursive: true, force: true });
  spawnSync("sync");
  const { logs: _logs, ...rest } = r;
  return { variant, run, bytes: payload.totalBytes, pieces: ctx.pieces, ...rest };
}

// ---------------------------------------------------------------- main
async function main(argv) {
  let opts;
  try {
    opts = parseClusterOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`cluster-bench: ${err.message}\n(see --help)\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  const needed = [
    [TESTKIT_ENTRY, "build first: npx tsc -b"],
    [join(REPO_ROOT, "packages", "cli", "dist", "main.js"), "build first: npx tsc -b"],
    ["/usr/bin/time", "apt-get install time"],
    ["/usr/bin/python3", "apt-get install python3-libtorrent"],
  ];
  const problems = needed.filter(([p]) => !existsSync(p)).map(([p, hint]) => `${p} is missing (${hint})`);
  if (problems.length > 0) {
    process.stderr.write(`cluster-bench: cannot run:\n  ${problems.join("\n  ")}\n`);
    return 2;
  }
  const tk = await import(TESTKIT_ENTRY);
  const { ensurePayload } = await import("./lib/payload-cache.mjs");
  const timedRun = await import("./lib/timed-run.mjs");
  const metrics = await import("./lib/cluster-metrics.mjs");
  const report = await import("./lib/cluster-report.mjs");
  const { Client } = await import("minio");

  const workDir = await mkdtemp(join(tmpdir(), "shoal-cluster-bench-"));
  onCleanup(async () => {
    if (opts.keep) log(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  });

  const payload = await ensurePayload(opts, onCleanup, log);
  if (!payload.reused) spawnSync("sync");
  checkInterrupted();

  log("starting the S3 server (Swift with s3api)");
  const s3 = await tk.startS3Server();
  onCleanup(() => s3.stop());
  await s3.createBucket(BUCKET);
  const url = new URL(s3.endpoint);
  const minio = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: s3.accessKeyId,
    secretKey: s3.secretAccessKey,
    region: s3.region,
    pathStyle: true,
  });

  const tracker = await tk.startOpentracker({ infoHashes: [] });
  onCleanup(() => tracker.stop());
  const torrentPath = join(workDir, "bench.torrent");
  const made = await tk.makeTorrent({
    path: join(payload.dataDir, payload.name),
    out: torrentPath,
    announce: [[tracker.httpAnnounce]],
    pieceLength: opts.pieceBytes,
    // mktorrent refuses pieces below 32 KiB; libtorrent's creator makes 16 KiB ones.
    ...(opts.pieceBytes < 32 * 1024 ? { tool: "libtorrent" } : {}),
  });
  if (made.summary.totalBytes !== payload.totalBytes) {
    throw new Error(`torrent covers ${made.summary.totalBytes} bytes, payload has ${payload.totalBytes}`);
  }
  await tracker.allow(made.announceHashes);

  const ctx = {
    tk, opts, tracker, torrentPath, payload, timedRun, metrics, workDir, s3, minio,
    infoHash: made.infoHashHex,
    pieces: Math.ceil(payload.totalBytes / opts.pieceBytes),
  };
  const lineCtx = {
    size: formatSize(opts.sizeBytes),
    piece: formatSize(opts.pieceBytes),
    natsMaxPayload: formatSize(opts.natsMaxPayloadBytes),
    seeds: opts.seeds,
    files: opts.files,
    runs: opts.runs,
    startedAt: new Date().toISOString(),
    commit: commandOutput("git", ["rev-parse", "--short", "HEAD"]) || "unknown",
    loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
  log(`load average at start: ${lineCtx.loadAverage}`);

  const results = [];
  for (let run = 1; run <= opts.runs; run++) {
    // Rotate the order each round, so no variant always goes first.
    const order = opts.variants.map((_, i) => opts.variants[(i + run - 1) % opts.variants.length]);
    for (const variant of order) {
      const r = await runOnce(ctx, variant, run);
      results.push(r);
      process.stdout.write(`${report.resultLine(lineCtx, r)}\n`);
      if (opts.results !== undefined) await report.appendTsv(opts.results, lineCtx, [r]);
    }
  }
  lineCtx.loadAverageEnd = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  log(`load average at the end: ${lineCtx.loadAverageEnd}`);
  const summary = report.summarize(opts.variants, results);
  for (const line of report.summaryLines(summary)) process.stdout.write(`${line}\n`);
  process.stdout.write(`\n${report.markdownTable(summary)}\n`);
  if (opts.json !== undefined) {
    await writeFile(opts.json, `${JSON.stringify({ ...lineCtx, options: opts, results, summary }, null, 1)}\n`);
  }
  return results.every((r) => r.reason === undefined) ? 0 : 1;
}

let exitCode;
try {
  exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`cluster-bench: ${err?.stack ?? err}\n`);
    exitCode = 2;
  }
} finally {
  if (!interrupted) await runCleanups();
}
if (!interrupted) process.exit(exitCode);
