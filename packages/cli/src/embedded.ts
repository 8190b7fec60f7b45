import {
  MemoryBus,
  MemoryCatalog,
  MemoryClaimTable,
  MemoryJobQueue,
  type JobProgress,
  type JobResult,
} from "@shoal/coordination";
import { TorrentInfoCache } from "@shoal/metainfo";
import { createLogger, loadConfig, silentLogger, type Logger } from "@shoal/service-kit";
import { RoutingStore, checkBucket, checkS3Tuning, dhtSettingsFrom, userDhtStateFile, encryptionFrom, formatDestination, metadataKeeperFor, parseDestination, s3ConnectionFrom, torrentSourceOf, type S3Connection } from "@shoal/runtime";
import * as peerWorker from "@shoal/peer-worker";
import * as verifier from "@shoal/piece-verifier";
import * as writer from "@shoal/storage-writer";
import * as poller from "@shoal/tracker-poller";
import { CliError } from "./cli-error.js";
import type { GetArgs } from "./args.js";

export interface EmbeddedHooks {
  onProgress(progress: JobProgress): void;
  onEvent(type: string, fields: Record<string, unknown>): void;
}

export interface EmbeddedRun {
  readonly result: Promise<JobResult>;
  /** Stops the download: announces `stopped`, keeps every stored piece. */
  cancel(): Promise<void>;
  /** Stops every service; call once `result` settled. */
  shutdown(): Promise<void>;
  /** The DHT node's counters (nodes, lookups, peers found...); undefined with the DHT off. */
  dhtStats(): Record<string, unknown> | undefined;
}

/**
 * Embedded mode: the four services in this process over the in-memory adapters of the same
 * ports (claim table, bus, job queue, catalog), writing to the filesystem store for a directory
 * or the S3 store for `s3://BUCKET/PREFIX`. Nothing else is needed. A bucket destination is
 * checked before anything starts (endpoint, bucket, credentials), so a mistake there is one line
 * within seconds rather than a download that fails at its first write.
 */
export async function startEmbedded(args: GetArgs, hooks: EmbeddedHooks, env: NodeJS.ProcessEnv): Promise<EmbeddedRun> {
  const logger: Logger = args.logLevel ? createLogger({ service: "shoal", level: args.logLevel }) : silentLogger();
  // Checked before anything starts: a bad SHOAL_DHT_* or SHOAL_S3_* value is a one-line error, exit status 2.
  const dht = dhtSettingsFrom({ dhtBootstrap: args.dhtBootstrap, dhtPort: args.dhtPort, noDht: args.noDht }, env);
  checkS3Tuning(env);
  const source = await torrentSourceOf(args.source);
  const destination = parseDestination(args.out);
  let s3: S3Connection | undefined;
  if (destination.kind === "s3") {
    s3 = s3ConnectionFrom(args.s3, env, true);
    await checkBucket(s3!, destination.bucket, destination.prefix);
  }
  const where = formatDestination(destination);
  const now = () => performance.now();
  const claims = new MemoryClaimTable(now);
  const bus = new MemoryBus((err, name) => logger.error({ err, op: `bus.${name}` }, "message handler failed; will retry"));
  const queue = new MemoryJobQueue();
  const catalog = new MemoryCatalog();
  const workerConfig = loadConfig(peerWorker.peerWorkerConfigSchema, {
    prefix: "peer-worker",
    env,
    overrides: {
      listenPort: args.port,
      maxConnections: args.maxPeers,
      encryption: args.encryption ?? encryptionFrom(undefined, env),
      maxDownloadBytesPerSec: args.maxDownloadRate,
      maxUploadBytesPerSec: args.maxUploadRate,
      // One process shares its store: staging hands the buffer over without a copy, and the
      // store gives it back to the pool once written.
      stagePiecesOnBus: false,
      // One worker has nobody to split the peers with: it dials as soon as it hears of them.
      joinSettleMs: 0,
      // The filesystem store writes each piece in place, so pieces need not come in runs that
      // fill S3 parts; per-piece rarest first spreads the download over the swarm best. The S3
      // store makes pieces durable a whole part at a time and keeps the default runs: pieces
      // claimed rarest first would open every part, and with the staging budget held by pieces
      // waiting for their part, the download would stall.
      ...(destination.kind === "dir" ? { claimRunMiB: 0 } : {}),
    },
  });
  const pool = new peerWorker.PieceBufferPool(workerConfig.maxBufferedMiB * 1024 * 1024);
  const store = new RoutingStore({
    destinationOf: async () => where,
    ...(s3 ? { s3 } : {}),
    env,
    recycle: (buf) => pool.release(buf),
  });
  const torrents = new TorrentInfoCache(async (ih) => catalog.get(ih));

  const worker = await peerWorker.start(workerConfig, { claims, store, bus, torrents, logger, now, pool, onEvent: hooks.onEvent }).catch((err: Error) => {
    throw new CliError(`cannot listen for peers on port ${args.port}: ${err.message} (choose another with --port, or 0 for any)`, 1);
  });
  const services = [
    worker,
    await verifier.start(loadConfig(verifier.verifierConfigSchema, { prefix: "piece-verifier", env }), {
      claims,
      store,
      bus,
      torrents,
      logger,
    }),
    await writer.start(loadConfig(writer.writerConfigSchema, { prefix: "storage-writer", env }), {
      claims,
      store,
      bus,
      torrents,
      logger,
    }),
  ];
  const keeper = metadataKeeperFor(destination);
  const pollerService = await poller.start(
    loadConfig(poller.pollerConfigSchema, {
      prefix: "tracker-poller",
      env,
      overrides: { announcePort: worker.port, encryption: workerConfig.encryption, dhtStateFile: userDhtStateFile(env), ...dht },
    }),
    { queue, claims, bus, store, catalog, torrents, logger, onEvent: hooks.onEvent, ...(keeper ? { metadataKeeper: keeper } : {}) },
  );
  services.unshift(pollerService);

  queue.on({ progress: (_id, p) => hooks.onProgress(p) });
  const jobId = await queue.add({
    source,
    destination: where,
    options: {
      ...(args.select ? { selectFiles: args.select } : {}),
      ...(args.seed ? { seed: args.seed } : {}),
      ...(args.webSeeds ? { webSeeds: args.webSeeds } : {}),
    },
  });
  return {
    result: queue.waitUntilFinished(jobId),
    cancel: () => queue.cancel(jobId),
    dhtStats: () => pollerService.status()["dht"] as Record<string, unknown> | undefined,
    async shutdown() {
      for (const s of services) await s.stop().catch((err: unknown) => logger.error({ err }, "service stop failed"));
      await queue.close();
      await bus.close();
      await store.close();
      await claims.close();
    },
  };
}
