import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import * as peerWorker from "@shoal/peer-worker";
import * as verifier from "@shoal/piece-verifier";
import * as writer from "@shoal/storage-writer";
import * as poller from "@shoal/tracker-poller";
import { createLogger, loadConfig, type Logger, type RunningService } from "@shoal/service-kit";
import { connectBackends, type Backends } from "./backends.js";
import { clusterSettingsFrom, logLevelFrom, portFrom, secondsFrom, type ClusterFlags } from "./cluster-settings.js";
import { encryptionFrom } from "./encryption-setting.js";
import { startOpsServer, type OpsServer } from "./ops-server.js";
import { ActiveLock } from "./active-lock.js";
import { dhtSettingsFrom, type DhtOverrides } from "./dht-settings.js";
import { checkS3Tuning } from "./routing-store.js";
import { registerServiceMetrics, type ServiceName } from "./service-collectors.js";
import { serviceRegistry } from "./service-metrics.js";

export const SERVICE_NAMES: readonly ServiceName[] = ["tracker-poller", "peer-worker", "piece-verifier", "storage-writer"];

/**
 * How long a service waits for Redis and NATS at start by default: long enough for backends
 * started alongside it (a compose file, a pod) to come up, short enough that a wrong address
 * surfaces as an exit the supervisor reports.
 */
const DEFAULT_CONNECT_WAIT_SECONDS = 30;

/** The metrics port when none is given: the usual one of Prometheus exporters of Node processes. */
export const DEFAULT_METRICS_PORT = 9464;

export interface ServiceFlags extends ClusterFlags {
  /** peer-worker: the port for incoming peer connections. */
  readonly port?: string;
  /** peer-worker: prefer, require or disable (SHOAL_ENCRYPTION). */
  readonly encryption?: string;
  readonly logLevel?: string;
  /** tracker-poller: DHT bootstrap nodes, its UDP port, and off switch (each with its variable). */
  readonly dhtBootstrap?: string;
  readonly dhtPort?: string;
  readonly noDht?: boolean;
}

export interface ServiceProcess {
  readonly name: ServiceName;
  readonly service: RunningService;
  readonly metricsPort: number;
  /** peer-worker: where peers reach it. */
  readonly peerPort?: number;
  /** Drains the service (stop claiming, release claims, flush), then closes every connection. */
  stop(): Promise<void>;
}

/**
 * Starts one service as its own process would: settings from flags and environment (validated
 * first: a ConfigError names the bad or missing key), connections to Redis, NATS and S3 (waited
 * for up to `SHOAL_CONNECT_WAIT_SECONDS`, 30 by default, so services may start before their
 * backends), the service itself, and its `/metrics` and `/healthz` endpoint.
 */
export async function startServiceProcess(
  name: ServiceName,
  flags: ServiceFlags,
  env: Readonly<Record<string, string | undefined>>,
  logger?: Logger,
  /** Called when the process must end (the storage-writer lost its active lock); default: log and exit 1. */
  onFatal?: (why: string) => void,
): Promise<ServiceProcess> {
  const level = logLevelFrom(flags.logLevel, env);
  const settings = clusterSettingsFrom(flags, env, { s3: name === "storage-writer" });
  const waitSeconds = secondsFrom(env, "SHOAL_CONNECT_WAIT_SECONDS", DEFAULT_CONNECT_WAIT_SECONDS);
  // The contract's SHOAL_PEER_WORKER_PORT names the listen port; the schema calls it listenPort.
  const peerPort = name === "peer-worker" ? portFrom(flags.port, "--port", env, "SHOAL_PEER_WORKER_PORT") : undefined;
  // Workers dial peers for pieces and the poller for a magnet link's metadata: one policy for both.
  const encryption = name === "peer-worker" || name === "tracker-poller" ? encryptionFrom(flags.encryption, env) : undefined;
  const serviceEnv = { ...env };
  delete serviceEnv["SHOAL_PEER_WORKER_PORT"];
  const dht = name === "tracker-poller" ? dhtSettingsFrom(flags, env) : undefined;
  checkS3Tuning(env);
  const start = serviceStarter(name, serviceEnv, peerPort, encryption, dht);
  const log = logger ?? createLogger({ service: name, level });
  const backends = await connectBackends(settings, {
    name: `shoal-${name}`,
    logger: log,
    env: serviceEnv,
    waitMs: waitSeconds * 1000,
  });
  // The endpoint is up before the service starts: a standby storage-writer is healthy too.
  let service: RunningService | undefined;
  const current: RunningService = { stop: async () => service?.stop(), status: () => service?.status() ?? {} };
  const registry = serviceRegistry(name);
  registerServiceMetrics(registry, name, current, {
    store: backends.store,
    busStats: () => backends.busStats(),
    ...(name === "tracker-poller" ? { jobCounts: () => backends.queue().counts() } : {}),
    ...(name === "peer-worker" ? { byteTotals: () => (service as peerWorker.RunningPeerWorker | undefined)?.byteTotals() ?? {} } : {}),
    logger: log,
  });
  let ops: OpsServer;
  try {
    ops = await openOps(settings.metricsPort, registry, backends, log);
  } catch (err) {
    await backends.close();
    throw err;
  }
  let lock: ActiveLock | undefined;
  try {
    if (name === "storage-writer") {
      const writerConfig = loadConfig(writer.writerConfigSchema, { prefix: name, env: serviceEnv });
      lock = new ActiveLock({
        redisUrl: settings.redisUrl,
        service: name,
        instanceId: writerConfig.writerId || `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
        ttlMs: writerConfig.activeLockSeconds * 1000,
        logger: log,
        onLost: () => (onFatal ?? defaultFatal)(`${name} lost its active lock; exiting so that it restarts as a standby`),
      });
      log.info({ op: "service.standby", metricsPort: ops.port }, `${name} waiting to become the active one; metrics and health on port ${ops.port}`);
      await lock.acquire();
    }
    service = await start(backends, log);
  } catch (err) {
    await lock?.close();
    await ops.close();
    await backends.close();
    throw err;
  }
  const worker = service as Partial<peerWorker.RunningPeerWorker>;
  log.info(
    { op: "service.start", metricsPort: ops.port, ...(worker.port !== undefined ? { peerPort: worker.port, workerId: worker.workerId } : {}) },
    `${name} running; metrics and health on port ${ops.port}`,
  );
  let stopping: Promise<void> | undefined;
  return {
    name,
    service,
    metricsPort: ops.port,
    ...(worker.port !== undefined ? { peerPort: worker.port } : {}),
    stop: () =>
      (stopping ??= (async () => {
        log.info({ op: "service.stop" }, `${name} draining`);
        await service!.stop().catch((err: unknown) => log.error({ err, op: "service.stop" }, "stopping the service failed"));
        await lock?.close();
        await ops.close();
        await backends.close();
        log.info({ op: "service.stop" }, `${name} stopped`);
      })()),
  };
}

function defaultFatal(why: string): void {
  process.stderr.write(`shoal: ${why}\n`);
  process.exit(1);
}

/** Validates the service's own config now (before connecting) and returns its start. */
function serviceStarter(
  name: ServiceName,
  env: Readonly<Record<string, string | undefined>>,
  peerPort: number | undefined,
  encryption: peerWorker.EncryptionPolicy | undefined,
  dht: DhtOverrides | undefined,
): (b: Backends, logger: Logger) => Promise<RunningService> {
  switch (name) {
    case "tracker-poller": {
      const config = loadConfig(poller.pollerConfigSchema, { prefix: name, env, overrides: { encryption, ...dht } });
      return (b, logger) =>
        poller.start(config, { queue: b.queue(), claims: b.claims, bus: b.bus, store: b.store, catalog: b.catalog, torrents: b.torrents, logger });
    }
    case "peer-worker": {
      const config = loadConfig(peerWorker.peerWorkerConfigSchema, { prefix: name, env, overrides: { listenPort: peerPort, encryption } });
      return (b, logger) => peerWorker.start(config, { claims: b.claims, store: b.store, bus: b.bus, torrents: b.torrents, logger });
    }
    case "piece-verifier": {
      const config = loadConfig(verifier.verifierConfigSchema, { prefix: name, env });
      return (b, logger) => verifier.start(config, { claims: b.claims, store: b.store, bus: b.bus, torrents: b.torrents, logger });
    }
    case "storage-writer": {
      const config = loadConfig(writer.writerConfigSchema, { prefix: name, env });
      return (b, logger) => writer.start(config, { claims: b.claims, store: b.store, bus: b.bus, torrents: b.torrents, logger });
    }
  }
}

async function openOps(port: number | undefined, registry: ReturnType<typeof serviceRegistry>, b: Backends, logger: Logger): Promise<OpsServer> {
  const health = () => {
    const checks = b.health();
    return { ok: Object.values(checks).every(Boolean), checks };
  };
  try {
    return await startOpsServer({ port: port ?? DEFAULT_METRICS_PORT, registry, health, logger });
  } catch (err) {
    // The default port taken (several services on one host) is no reason to fail; a port the
    // operator chose is.
    if (port !== undefined || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") {
      throw new Error(`cannot serve metrics on port ${port ?? DEFAULT_METRICS_PORT}: ${(err as Error).message}`);
    }
    logger.info({ port: DEFAULT_METRICS_PORT }, "metrics port in use; serving on a free port instead");
    return startOpsServer({ port: 0, registry, health, logger });
  }
}
