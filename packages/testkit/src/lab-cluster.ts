import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { startLibtorrentSeed, type LibtorrentPeer } from "./libtorrent-seed.js";
import { makeTorrent } from "./make-torrent.js";
import { startProcess, type ManagedProcess } from "./managed-process.js";
import { startNatsServer } from "./nats-server.js";
import { startNetnsLab, type NetnsLab } from "./netns-lab.js";
import { startOpentracker, type Opentracker } from "./opentracker.js";
import { makePayload, type Payload, type PayloadSpec } from "./payload.js";
import { startRedisServer } from "./redis-server.js";
import { startS3Server, type S3Server } from "./s3-server.js";
import { TestkitError } from "./testkit-error.js";

export interface LabClusterOptions {
  /** Worker namespaces to build: the most peer-workers any `runJob` will start. */
  readonly maxWorkers: number;
  /** Each worker's link cap, bytes per second in each direction. */
  readonly workerRateBytesPerSec: number;
  readonly payload: PayloadSpec;
  readonly pieceLength: number;
  /** libtorrent seeds in the infra namespace, uncapped. */
  readonly seeds: number;
  /** How to run the shoal CLI: `command` plus leading `args` (node and the bin script). */
  readonly shoal: { readonly command: string; readonly args: readonly string[] };
}

/** A shoal cluster's surroundings in a network lab; see `startLabCluster`. */
export interface LabCluster {
  readonly lab: NetnsLab;
  readonly s3: S3Server;
  readonly bucket: string;
  readonly tracker: Opentracker;
  readonly seeds: readonly LibtorrentPeer[];
  readonly payload: Payload;
  readonly torrentPath: string;
  /** CPU seconds all seeds have used so far. */
  seedCpuSeconds(): number;
  /** Runs one job with `workers` peer-workers on fresh Redis and NATS; see `LabJobResult`. */
  runJob(opts: LabJobOptions): Promise<LabJobResult>;
  /** Objects under `prefix` that are missing, extra, of other bytes, or uploads left open. */
  bucketProblems(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface LabJobOptions {
  readonly workers: number;
  /** Objects land under `s3://<bucket>/<prefix>/`. */
  readonly prefix: string;
  /** Settings for every shoal process, over the lab's connection settings. */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  /** Where the services' and the submit's logs go (kept); default a temporary directory, removed. */
  readonly logDir?: string;
}

export interface LabJobResult {
  /** The submit's exit status: 0 when the job completed. */
  readonly exitCode: number | null;
  /** Why the job did not complete (exit status, timeout, log tail); undefined when it did. */
  readonly failure?: string;
  readonly totalBytes: number;
  /**
   * The download phase from the job's progress (reported each second): from the first report
   * with bytes downloaded to the first whose claim table has no piece missing or claimed, that
   * is every piece downloaded and staged. Start-up of the processes is not in it, nor the
   * verifier's and writer's tail, which does not depend on the workers (`storedSeconds`).
   */
  readonly seconds: number;
  /** From the same first report to the first with every wanted byte stored in the bucket. */
  readonly storedSeconds: number;
  /** Bytes each worker downloaded, from the job's last progress report. */
  readonly workerBytes: readonly number[];
  /** CPU seconds of each service process during the job (`peer-worker-1`, `tracker-poller`, ...). */
  readonly serviceCpuSeconds: Readonly<Record<string, number>>;
  /**
   * CPU seconds of every process in the lab (seeds, tracker, Redis, NATS, S3, services) from
   * the submit to the job's end, and the wall seconds that took: their ratio is the cores the
   * lab kept busy.
   */
  readonly labCpuSeconds: number;
  readonly jobWallSeconds: number;
  /** Share of the machine's CPU time busy during the download phase (0..1, all cores). */
  readonly machineBusy: number;
  /** Every JSON event the submit printed. */
  readonly events: readonly Record<string, unknown>[];
}

const BUCKET = "shoal-lab";
/** Node services on two busy cores take seconds to load and connect; a minute means stuck. */
const SERVICE_READY_TIMEOUT_MS = 60_000;
const SERVICE_STOP_GRACE_MS = 10_000;
const POLL_MS = 200;
const CLOCK_TICKS_PER_S = 100;

/**
 * A network lab (`startNetnsLab`) with everything a shoal cluster downloads from and through in
 * its infra namespace: the S3 server with a bucket, opentracker and `seeds` libtorrent seeds of
 * one payload, all on the infra address. `runJob` starts a fresh Redis and NATS there, the
 * tracker-poller, piece-verifier and storage-writer there too, and each peer-worker in a worker
 * namespace of its own behind its capped link, submits the torrent and follows the job.
 */
export async function startLabCluster(opts: LabClusterOptions): Promise<LabCluster> {
  const work = await mkdtemp(join(tmpdir(), "shoal-lab-cluster-"));
  const closers: (() => Promise<unknown>)[] = [() => rm(work, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const lab = await startNetnsLab({ workers: opts.maxWorkers, workerRateBytesPerSec: opts.workerRateBytesPerSec });
    closers.push(() => lab.close());
    const place = lab.infra.placement;
    const dataDir = join(work, "data");
    const [s3, tracker, payload] = await Promise.all([
      startS3Server({ placement: place }),
      startOpentracker({ infoHashes: [], placement: place }),
      makePayload(dataDir, opts.payload),
    ]);
    closers.push(() => s3.stop(), () => tracker.stop());
    await s3.createBucket(BUCKET);
    const made = await makeTorrent({ path: payload.root, out: join(work, "lab.torrent"), pieceLength: opts.pieceLength, announce: [[tracker.httpAnnounce]] });
    await tracker.allow(made.announceHashes);
    const seeds: LibtorrentPeer[] = [];
    closers.push(() => Promise.all(seeds.map((s) => s.stop())));
    for (let i = 0; i < opts.seeds; i++) seeds.push(await startLibtorrentSeed({ torrentPath: made.torrentPath, dataDir, placement: place, readyTimeoutMs: 120_000 }));
    await Promise.all(seeds.map((s) => s.ready));

    return {
      lab,
      s3,
      bucket: BUCKET,
      tracker,
      seeds,
      payload,
      torrentPath: made.torrentPath,
      seedCpuSeconds: () => seeds.reduce((n, s) => n + cpuSeconds(s.pid), 0),
      runJob: (job) => runJob(lab, s3, opts, made.torrentPath, payload.totalBytes, job),
      async bucketProblems(prefix) {
        const problems: string[] = [];
        const got = new Map((await s3.listObjects(BUCKET, `${prefix}/`)).map((o) => [o.key, o.size]));
        for (const f of payload.files) {
          const key = `${prefix}/${f.path}`;
          if (!got.has(key)) problems.push(`${key}: missing`);
          else if (got.get(key) !== f.size) problems.push(`${key}: ${got.get(key)} bytes, expected ${f.size}`);
          else if (createHash("sha256").update(await s3.getObject(BUCKET, key)).digest("hex") !== f.sha256) problems.push(`${key}: other bytes than the payload`);
          got.delete(key);
        }
        for (const key of got.keys()) problems.push(`${key}: not in the payload`);
        for (const u of await s3.listMultipartUploads(BUCKET, `${prefix}/`)) problems.push(`${u.key}: multipart upload ${u.uploadId} left open`);
        return problems;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function runJob(lab: NetnsLab, s3: S3Server, opts: LabClusterOptions, torrentPath: string, totalBytes: number, job: LabJobOptions): Promise<LabJobResult> {
  if (!Number.isInteger(job.workers) || job.workers < 1 || job.workers > lab.workers.length) {
    throw new TestkitError("BAD_ARGUMENT", `a lab job needs 1 to ${lab.workers.length} workers, got ${job.workers}`, { context: { workers: job.workers } });
  }
  const logDir = job.logDir ?? (await mkdtemp(join(tmpdir(), "shoal-lab-job-")));
  await mkdir(logDir, { recursive: true });
  const place = lab.infra.placement;
  // Fresh Redis and NATS: no claim, peer registry, lease or stream of an earlier job.
  const [redis, nats] = await Promise.all([startRedisServer({ placement: place }), startNatsServer({ placement: place })]);
  const procs: { name: string; proc: ManagedProcess }[] = [];
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SHOAL_REDIS_URL: redis.url,
      SHOAL_NATS_URL: nats.url,
      SHOAL_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      SHOAL_METRICS_PORT: "0",
      ...job.env,
    };
    const shoal = (name: string, netns: string, args: readonly string[]): ManagedProcess => {
      const logPath = join(logDir, `${name}.log`);
      // A log of an earlier job in a kept directory would answer the readiness and progress reads.
      rmSync(logPath, { force: true });
      const proc = startProcess({ name, command: opts.shoal.command, args: [...opts.shoal.args, ...args], env, logPath, netns });
      procs.push({ name, proc });
      return proc;
    };
    for (const kind of ["tracker-poller", "piece-verifier", "storage-writer"]) shoal(kind, lab.infra.netns, ["service", kind]);
    for (let i = 0; i < job.workers; i++) shoal(`peer-worker-${i + 1}`, lab.workers[i]!.netns, ["service", "peer-worker", "--port", "0"]);
    await Promise.all(procs.map(({ proc }) => serviceReady(proc)));

    const cpu0 = Object.fromEntries(procs.map(({ name, proc }) => [name, cpuSeconds(proc.pid)]));
    const labCpu0 = new Map(lab.pids().map((pid) => [pid, cpuSeconds(pid)]));
    const submittedAt = Date.now();
    const submit = shoal("submit", lab.infra.netns, ["submit", torrentPath, "--to", `s3://${BUCKET}/${job.prefix}`, "--wait", "--json"]);
    procs.pop();
    const busy: { at: number; ticks: ReturnType<typeof machineTicks> }[] = [];
    const deadline = Date.now() + job.timeoutMs;
    let events: Record<string, unknown>[] = [];
    while (submit.exitStatus() === undefined && Date.now() < deadline) {
      busy.push({ at: Date.now(), ticks: machineTicks() });
      await delay(POLL_MS);
    }
    const timedOut = submit.exitStatus() === undefined;
    if (timedOut) await submit.stop(1_000);
    const status = await submit.exited;
    events = readEvents(submit.logPath);
    const jobWallSeconds = (Date.now() - submittedAt) / 1000;
    const labCpuSeconds = lab.pids().reduce((n, pid) => n + cpuSeconds(pid) - (labCpu0.get(pid) ?? 0), 0);
    const serviceCpuSeconds = Object.fromEntries(procs.map(({ name, proc }) => [name, cpuSeconds(proc.pid) - (cpu0[name] ?? 0)]));

    const progress = events.filter((e) => e["event"] === "progress");
    const at = (e: Record<string, unknown> | undefined): number => (e === undefined ? NaN : Date.parse(String(e["time"])));
    const first = progress.find((e) => Number(e["downloadedBytes"]) > 0);
    const done = progress.find((e) => Number(e["storedBytes"]) >= Number(e["totalBytes"]) && Number(e["totalBytes"]) > 0) ?? events.find((e) => e["event"] === "completed");
    const fetched = progress.find((e) => {
      const s = e["pieceStates"] as { missing?: number; claimed?: number } | undefined;
      return s !== undefined && s.missing === 0 && s.claimed === 0;
    });
    const [t0, t1, tStored] = [at(first), at(fetched ?? done), at(done)];
    const workers = (progress.at(-1)?.["workers"] ?? []) as { downloadedBytes: number }[];
    const failure = timedOut
      ? `timed out after ${job.timeoutMs / 1000} s`
      : status.code !== 0
        ? `submit exited with ${status.code ?? status.signal}: ${submit.logTail(10)}`
        : undefined;
    return {
      exitCode: status.code,
      ...(failure === undefined ? {} : { failure }),
      totalBytes,
      seconds: (t1 - t0) / 1000,
      storedSeconds: (tStored - t0) / 1000,
      workerBytes: workers.map((w) => w.downloadedBytes),
      serviceCpuSeconds,
      labCpuSeconds,
      jobWallSeconds,
      machineBusy: busyShare(busy, t0, t1),
      events,
    };
  } finally {
    await Promise.all(procs.map(({ proc }) => proc.stop(SERVICE_STOP_GRACE_MS)));
    await Promise.allSettled([redis.stop(), nats.stop()]);
    if (job.logDir === undefined) await rm(logDir, { recursive: true, force: true });
  }
}

async function serviceReady(proc: ManagedProcess): Promise<void> {
  const deadline = Date.now() + SERVICE_READY_TIMEOUT_MS;
  for (;;) {
    proc.assertRunning("starting");
    if (/metrics and health on port \d+/.test(readFileSync(proc.logPath, "utf8"))) return;
    if (Date.now() > deadline) throw new TestkitError("TIMEOUT", `${proc.name} not ready within ${SERVICE_READY_TIMEOUT_MS / 1000} s:\n${proc.logTail()}`);
    await delay(POLL_MS);
  }
}

/** The JSON lines of a log (the submit's --json events; pino lines of services are JSON too). */
function readEvents(path: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.startsWith('{"event"')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut by a kill.
    }
  }
  return out;
}

/** utime + stime of a live process in seconds (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop()!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of all CPUs (/proc/stat's first line). */
function machineTicks(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** The busy share of the samples between t0 and t1 (ms since the epoch); NaN without two. */
function busyShare(samples: readonly { at: number; ticks: { busy: number; total: number } }[], t0: number, t1: number): number {
  const inside = samples.filter((s) => s.at >= t0 && s.at <= t1);
  if (inside.length < 2) return NaN;
  const a = inside[0]!.ticks;
  const b = inside.at(-1)!.ticks;
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}
