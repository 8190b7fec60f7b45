import { createHash } from "node:crypto";
import { cp, open } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startLibtorrentSeed, startNatsServer, startRedisServer, startS3Server, type LibtorrentPeer, type NatsServer, type RedisServer, type S3Server } from "@shoal/testkit";
import { runCli, startCli, type CliRun } from "./cli-process.js";
import type { Swarm } from "./swarm.js";

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
}

export async function startClusterBackends(options: ClusterBackendsOptions = {}): Promise<ClusterBackends> {
  const [redis, nats, s3] = await Promise.all([startRedisServer({ appendOnly: true }), startNatsServer(), startS3Server()]);
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
