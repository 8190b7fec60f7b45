import { createHash } from "node:crypto";
import { cp, mkdir, open, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startLibtorrentSeed, startNatsServer, startRedisServer, startS3Server, type LibtorrentPeer, type NatsServer, type RedisServer, type S3Server } from "@shoal/testkit";
import { waitFor } from "@shoal/testkit";
import { runCli, startCli, type CliRun } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

export type ServiceName = "tracker-poller" | "peer-worker" | "piece-verifier" | "storage-writer";

/** One `shoal service` process of a test cluster. */
export interface ServiceRun extends CliRun {
  readonly name: ServiceName;
  /** Resolves with the metrics port once the service logged that it runs. */
  readonly ready: Promise<number>;
}

/** Redis (AOF on), NATS with JetStream and an S3 server on free loopback ports, plus a bucket. */
export interface ClusterBackends {
  readonly redis: RedisServer;
  readonly nats: NatsServer;
  readonly s3: S3Server;
  readonly bucket: string;
  /** The environment every shoal process of the cluster gets. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Starts `shoal service <name> [...args]` as its own process, logging at info to its stderr.
   * A peer-worker gets `--port 0` unless `args` name a port. `extraEnv` is laid over the
   * cluster's (a key set to undefined is removed).
   */
  startService(name: ServiceName, extraEnv?: NodeJS.ProcessEnv, args?: readonly string[]): ServiceRun;
  /** Every service started so far (running or not). */
  readonly services: ServiceRun[];
  /** Runs a shoal command (submit, status, cancel) to its end, with `extraEnv` over the cluster's. */
  shoal(args: readonly string[], timeoutMs: number, extraEnv?: NodeJS.ProcessEnv): ReturnType<typeof runCli>;
  /** Keys and SHA-256 of every object under `prefix`. */
  objects(prefix: string): Promise<Map<string, { size: number; sha256: string }>>;
  close(): Promise<void>;
}

export interface ClusterBackendsOptions {
  /** Added to the environment of every shoal process (service settings, S3 tuning). */
  readonly env?: NodeJS.ProcessEnv;
  /** The NATS server's `max_payload` (the test kit's 8 MiB when not given). */
  readonly natsMaxPayloadBytes?: number;
}

export async function startClusterBackends(options: ClusterBackendsOptions = {}): Promise<ClusterBackends> {
  const natsOptions = options.natsMaxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.natsMaxPayloadBytes };
  const [redis, nats, s3] = await Promise.all([startRedisServer({ appendOnly: true }), startNatsServer(natsOptions), startS3Server()]);
  const bucket = "shoal-e2e";
  await s3.createBucket(bucket);
  const env: NodeJS.ProcessEnv = {
    SHOAL_REDIS_URL: redis.url,
    SHOAL_NATS_URL: nats.url,
    SHOAL_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    SHOAL_METRICS_PORT: "0",
    // Faster lease expiry and sweeps than production, so fault tests do not wait long.
    SHOAL_TRACKER_POLLER_LEASE_SWEEP_INTERVAL_MS: "1000",
    SHOAL_PEER_WORKER_HEARTBEAT_TTL_SECONDS: "5",
    ...options.env,
  };
  const services: ServiceRun[] = [];
  return {
    redis,
    nats,
    s3,
    bucket,
    env,
    services,
    startService(name, extraEnv = {}, args = []) {
      const port = name === "peer-worker" && !args.some((a) => a === "--port" || a === "-p" || a.startsWith("--port=")) ? ["--port", "0"] : [];
      const run = startCli(["service", name, ...port, ...args], { ...env, ...extraEnv });
      const ready = new Promise<number>((resolve, reject) => {
        const timer = setInterval(() => {
          const m = /metrics and health on port (\d+)/.exec(run.stderr());
          if (m) {
            clearInterval(timer);
            resolve(Number(m[1]));
          }
        }, 100);
        void run.exited.then((e) => {
          clearInterval(timer);
          reject(new Error(`${name} exited (${e.code ?? e.signal}) before it was ready: ${run.stderr().slice(-2000)}`));
        });
      });
      ready.catch(() => undefined);
      const service = Object.assign(run, { name, ready });
      services.push(service);
      return service;
    },
    shoal: (args, timeoutMs, extraEnv = {}) => runCli(args, timeoutMs, { ...env, ...extraEnv }),
    async objects(prefix) {
      const out = new Map<string, { size: number; sha256: string }>();
      for (const o of await s3.listObjects(bucket, prefix)) {
        const body = await s3.getObject(bucket, o.key);
        out.set(o.key, { size: body.length, sha256: createHash("sha256").update(body).digest("hex") });
      }
      return out;
    },
    async close() {
      for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
      await Promise.all(services.map((s) => s.exited));
      await Promise.allSettled([redis.stop(), nats.stop(), s3.stop()]);
    },
  };
}

/** The payload's files as they must appear under `prefix` in the bucket: key -> size and SHA-256. */
export function expectedObjects(swarm: Swarm, prefix: string): Map<string, { size: number; sha256: string }> {
  return new Map(swarm.payload.files.map((f) => [`${prefix}/${f.path}`, { size: f.size, sha256: f.sha256 }]));
}

/** GET of a service's operations endpoint (`/metrics`, `/healthz`) on loopback. */
export async function opsGet(port: number, path: string): Promise<{ status: number; contentType: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: await res.text() };
}

/** The value of one Prometheus sample: `name` with every label in `labels`; undefined when absent. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** An HTTP server on loopback that answers every GET with `body`: a torrent URL for jobs. */
export async function serveBytes(body: string | Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/x-bittorrent" }).end(body));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/file.torrent`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Lines of a command's stderr, without pino's JSON log lines (services log there too). */
export function messageLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("{"));
}

/**
 * A libtorrent peer with all of the swarm's payload but the first `zeroedBytes` of the file
 * `path` (as in `swarm.payload.files`), zeroed in its own copy of the data: it serves every
 * other piece, and a download from it alone can never complete. A job stays running, with
 * whatever the available pieces produce in the bucket, for as long as a test needs it to.
 */
export async function startPartialSeed(swarm: Swarm, damage: { readonly path: string; readonly zeroedBytes: number }): Promise<LibtorrentPeer> {
  const dataDir = join(swarm.dir, "partial");
  await cp(join(swarm.dir, "data"), dataDir, { recursive: true });
  const fh = await open(join(dataDir, damage.path), "r+");
  try {
    await fh.write(Buffer.alloc(damage.zeroedBytes), 0, damage.zeroedBytes, 0);
  } finally {
    await fh.close();
  }
  // A leecher: it hash-checks the copy, keeps the pieces that match and serves them.
  const peer = await startLibtorrentSeed({ torrentPath: swarm.torrentPath, dataDir, mode: "leech" });
  await peer.ready;
  return peer;
}

// ---------------------------------------------------------------------------------------------
// Fault tests: helpers for killing and restarting parts of a running cluster (cluster-faults and
// cluster-resume tests). Kept apart from the helpers above.
// ---------------------------------------------------------------------------------------------

/**
 * Settings every process of a fault-test cluster gets on top of `ClusterBackends.env`, so a
 * fault costs seconds rather than production's minutes, and the S3 store cuts parts of the
 * smallest legal size, so a 40 MiB payload has several multipart uploads with parts recorded
 * mid-download. Every process gets the same part size: the torrent's owner opens the same
 * plan as the writer, and would abort uploads it does not recognise.
 */
export const FAULT_ENV: NodeJS.ProcessEnv = {
  SHOAL_STORAGE_WRITER_LEASE_TTL_SECONDS: "5",
  // A new writer waits as a standby until a dead one's lock lapses. Longer than a Redis restart
  // takes here: an active writer that cannot renew for this long exits.
  SHOAL_STORAGE_WRITER_ACTIVE_LOCK_SECONDS: "8",
  // A killed verifier's or writer's pulled messages come back after the ack wait.
  SHOAL_PIECE_VERIFIER_ACK_WAIT_SECONDS: "10",
  SHOAL_STORAGE_WRITER_ACK_WAIT_SECONDS: "15",
  SHOAL_S3_PART_SIZE_MIB: "5",
  // A durable message can be lost in a NATS restart (nats-server 2.9 acknowledges publishes to an
  // interest stream while it shuts down, and drops them); the owner sends back a piece stuck so
  // after this long instead of production's five minutes. Longer than a verifier's backlog after
  // the verifier is killed (its ack wait plus a restart).
  SHOAL_TRACKER_POLLER_STUCK_PIECE_SECONDS: "30",
};

const MiB = 1024 * 1024;

/** Pieces of fault-test torrents: about 160 of them, so a fault lands among many. */
export const FAULT_PIECE_BYTES = 256 * 1024;

/**
 * The payload of fault-test torrents, about 41 MiB: files below S3's 5 MiB part minimum (single
 * PUTs), an empty file, files of several parts, and sizes that make pieces straddle files.
 */
export const FAULT_FILES = [
  { path: "a/small.bin", size: 1 * MiB + 12_345 },
  { path: "a/tiny.txt", size: 100_001 },
  { path: "empty.txt", size: 0 },
  { path: "big/large.bin", size: 17 * MiB + 7_777 },
  { path: "big/mid.bin", size: 11 * MiB + 3 },
  { path: "c/four.bin", size: 4 * MiB + 77 },
  { path: "c/seven.bin", size: 7 * MiB + 5 },
] as const;
export const FAULT_PAYLOAD_BYTES = FAULT_FILES.reduce((n, f) => n + f.size, 0);

/**
 * Seeds of fault-test swarms and their upload limit: three at this rate give about 2 MB/s, so a
 * download takes about 20 s, long enough to land a fault in the middle, short enough that each
 * test stays within a minute.
 */
export const FAULT_SEEDS = 3;
export const FAULT_SEED_RATE_BYTES_PER_SEC = 700_000;

/**
 * What a download may cost the seeds above the bytes it needs, when nothing goes wrong: end-game
 * duplicates, and blocks requested from a peer and then also taken from another.
 */
export const DOWNLOAD_OVERHEAD = 1.15;

/**
 * Bytes a seed may have sent into a connection that closes before the worker read them (at the
 * end of a job, in end-game, when a worker dies): one minimum pipeline (32 blocks of 16 KiB) per
 * connection, three workers to each seed. Counted by the seeds as uploaded, never by a worker.
 */
export const UNREAD_AT_CLOSE_BYTES = FAULT_SEEDS * 3 * 32 * 16 * 1024;

/** A swarm of its own (its own payload, so its own torrent) with rate-limited libtorrent seeds. */
export function faultSwarm(tag: string): Promise<Swarm> {
  return startSwarm({
    payload: { name: tag, seed: `cluster-faults-${tag}`, files: FAULT_FILES },
    pieceLength: FAULT_PIECE_BYTES,
    tracker: "http",
    seeds: FAULT_SEEDS,
    seedUploadRateLimit: FAULT_SEED_RATE_BYTES_PER_SEC,
  });
}

/** How many of each service a fault-test cluster runs. */
export const FAULT_CLUSTER: Readonly<Record<ServiceName, number>> = {
  "tracker-poller": 1,
  "piece-verifier": 1,
  "storage-writer": 1,
  "peer-worker": 3,
};

/** Whether a service process is still running. */
export function isRunning(s: ServiceRun): boolean {
  return s.child.exitCode === null && s.child.signalCode === null;
}

/** The running processes of one service. */
export function runningServices(backends: ClusterBackends, name: ServiceName): ServiceRun[] {
  return backends.services.filter((s) => s.name === name && isRunning(s));
}

/**
 * Starts what is missing for `FAULT_CLUSTER` (all of it the first time; after a test killed a
 * process, its replacement) with `env` over the backends' environment, and waits until every
 * process is ready.
 */
export async function ensureFaultCluster(backends: ClusterBackends, env: NodeJS.ProcessEnv = FAULT_ENV): Promise<void> {
  const started: ServiceRun[] = [];
  for (const [name, count] of Object.entries(FAULT_CLUSTER) as [ServiceName, number][]) {
    for (let i = runningServices(backends, name).length; i < count; i++) started.push(backends.startService(name, env));
  }
  await Promise.all(started.map((s) => s.ready));
}

/** The JSON log lines a service wrote to stderr from character `from` on (pino: one object per line). */
export function serviceLogs(s: ServiceRun, from = 0): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of s.stderr().slice(from).split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut by the read in progress; the next look sees it whole.
    }
  }
  return out;
}

/**
 * Pieces the torrents' owners sent back to missing, to be downloaded again, from `from` on (per
 * poller, a stderr offset): those of a lapsed lease (a dead worker's claims and staged pieces, a
 * dead writer's held pieces) and those stuck because their bus message was lost.
 */
export function piecesSentBack(pollers: readonly { run: ServiceRun; from: number }[]): number {
  let n = 0;
  for (const { run, from } of pollers) {
    for (const l of serviceLogs(run, from)) {
      if (l["msg"] === "pieces of workers whose lease lapsed are missing again") n += Number(l["pieces"] ?? 0);
      else if (l["op"] === "poller.stuckPieces") n++;
    }
  }
  return n;
}

/** Where each running poller's log stands now, for `piecesSentBack` later. */
export function pollerLogMarks(backends: ClusterBackends): { run: ServiceRun; from: number }[] {
  return backends.services.filter((s) => s.name === "tracker-poller").map((run) => ({ run, from: run.stderr().length }));
}

/** Payload bytes the swarm's libtorrent seeds have sent so far (libtorrent's total_payload_upload). */
export async function seedsUploaded(swarm: Swarm): Promise<number> {
  let n = 0;
  for (const s of swarm.seeds) {
    const state = (s as Partial<LibtorrentPeer>).state;
    if (typeof state !== "function") throw new Error(`seed ${s.ip}:${s.port} reports no upload counter (only libtorrent seeds do)`);
    n += (await state.call(s)).uploaded;
  }
  return n;
}

/** A job followed from `shoal submit --wait --json` to its end. */
export interface FollowedJob {
  readonly run: CliRun;
  /** The job id, once the submit printed it. */
  jobId(): Promise<string>;
  /** Stored bytes over wanted bytes in the job's latest progress (0 before the first). */
  storedFraction(): number;
  /** Resolves once the job's progress says at least `fraction` of its bytes are stored. */
  untilStored(fraction: number, timeoutMs: number): Promise<void>;
  /** The submit's exit, with its events and stderr. */
  readonly finished: Promise<{ code: number | null; signal: NodeJS.Signals | null; events: Record<string, unknown>[]; stderr: string }>;
}

/** Submits the swarm's torrent to `s3://bucket/prefix` and follows the job. */
export function followJob(backends: ClusterBackends, torrentPath: string, prefix: string, timeoutMs: number): FollowedJob {
  const run = startCli(["submit", torrentPath, "--to", `s3://${backends.bucket}/${prefix}`, "--wait", "--json"], backends.env);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs);
  const finished = run.exited.then((e) => {
    clearTimeout(timer);
    return { ...e, events: run.events, stderr: run.stderr() };
  });
  const storedFraction = () => {
    const p = run.events.filter((e) => e["event"] === "progress").at(-1);
    const total = Number(p?.["totalBytes"] ?? 0);
    return total > 0 ? Number(p?.["storedBytes"] ?? 0) / total : 0;
  };
  const exitedEarly = () => {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`the submit exited (${run.child.exitCode ?? run.child.signalCode}) early: ${run.stderr().slice(-2000)}`);
    }
  };
  return {
    run,
    finished,
    storedFraction,
    async jobId() {
      await waitFor(() => run.events.some((e) => e["event"] === "queued") || (exitedEarly(), false), { timeoutMs: 30_000, what: "the submit to print its job id" });
      return String(run.events.find((e) => e["event"] === "queued")!["jobId"]);
    },
    async untilStored(fraction, waitMs) {
      await waitFor(
        () => {
          if (storedFraction() >= fraction) return true;
          exitedEarly();
          return false;
        },
        { timeoutMs: waitMs, what: `${Math.round(fraction * 100)} % of the job stored`, intervalMs: 100, describe: () => `stored ${(storedFraction() * 100).toFixed(1)} %` },
      );
    },
  };
}

/**
 * What is wrong with the bucket under `prefix` against the swarm's payload: objects missing,
 * extra or with other bytes, and multipart uploads left open. Empty when all is well.
 */
export async function bucketProblems(backends: ClusterBackends, swarm: Swarm, prefix: string): Promise<string[]> {
  const got = await backends.objects(`${prefix}/`);
  const want = expectedObjects(swarm, prefix);
  const problems: string[] = [];
  for (const [key, w] of want) {
    const g = got.get(key);
    if (!g) problems.push(`${key}: missing`);
    else if (g.size !== w.size) problems.push(`${key}: ${g.size} bytes, expected ${w.size}`);
    else if (g.sha256 !== w.sha256) problems.push(`${key}: other bytes than the payload`);
  }
  for (const key of got.keys()) if (!want.has(key)) problems.push(`${key}: not in the payload`);
  for (const u of await backends.s3.listMultipartUploads(backends.bucket, `${prefix}/`)) problems.push(`${u.key}: multipart upload ${u.uploadId} left open`);
  return problems;
}

/**
 * Writes every service's stderr (JSON log lines) to `<dir>/<n>-<service>.log`, for the cause of
 * a failed fault test; resolves with the directory.
 */
export async function saveServiceLogs(backends: ClusterBackends, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await Promise.all(backends.services.map((s, i) => writeFile(join(dir, `${i}-${s.name}.log`), s.stderr())));
  return dir;
}
