import { createHash } from "node:crypto";
import { startNatsServer, startRedisServer, startS3Server, type NatsServer, type RedisServer, type S3Server } from "@shoal/testkit";
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
  /** Starts `shoal service <name>` as its own process, logging at info to its stderr. */
  startService(name: ServiceName, extraEnv?: NodeJS.ProcessEnv): ServiceRun;
  /** Every service started so far (running or not). */
  readonly services: ServiceRun[];
  /** Runs a shoal command (submit, status, cancel) to its end. */
  shoal(args: readonly string[], timeoutMs: number): ReturnType<typeof runCli>;
  /** Keys and SHA-256 of every object under `prefix`. */
  objects(prefix: string): Promise<Map<string, { size: number; sha256: string }>>;
  close(): Promise<void>;
}

export async function startClusterBackends(): Promise<ClusterBackends> {
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
  };
  const services: ServiceRun[] = [];
  return {
    redis,
    nats,
    s3,
    bucket,
    env,
    services,
    startService(name, extraEnv = {}) {
      const run = startCli(["service", name, ...(name === "peer-worker" ? ["--port", "0"] : [])], { ...env, ...extraEnv });
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
    shoal: (args, timeoutMs) => runCli(args, timeoutMs, env),
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
