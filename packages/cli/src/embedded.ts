import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  MemoryBus,
  MemoryCatalog,
  MemoryClaimTable,
  MemoryJobQueue,
  type JobProgress,
  type JobResult,
  type TorrentSource,
} from "@shoal/coordination";
import { TorrentInfoCache } from "@shoal/metainfo";
import { createLogger, loadConfig, silentLogger, type Logger } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
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
}

/**
 * Embedded mode: the four services in this process over the in-memory adapters of the same
 * ports (claim table, bus, job queue, catalog) and the filesystem store. Nothing else is needed.
 */
export async function startEmbedded(args: GetArgs, hooks: EmbeddedHooks, env: NodeJS.ProcessEnv): Promise<EmbeddedRun> {
  const logger: Logger = args.logLevel ? createLogger({ service: "shoal", level: args.logLevel }) : silentLogger();
  const source = await resolveSource(args.source);
  const now = () => performance.now();
  const claims = new MemoryClaimTable(now);
  const bus = new MemoryBus((err, name) => logger.error({ err, op: `bus.${name}` }, "message handler failed; will retry"));
  const queue = new MemoryJobQueue();
  const catalog = new MemoryCatalog();
  const workerConfig = loadConfig(peerWorker.peerWorkerConfigSchema, {
    prefix: "peer-worker",
    env,
    overrides: { listenPort: args.port, maxConnections: args.maxPeers },
  });
  const pool = new peerWorker.PieceBufferPool(workerConfig.maxBufferedMiB * 1024 * 1024);
  const store = new FsObjectStore(resolve(args.out), (buf) => pool.release(buf));
  const torrents = new TorrentInfoCache(async (ih) => (await catalog.get(ih))?.infoBytes);

  const worker = await peerWorker.start(workerConfig, { claims, store, bus, torrents, logger, now, pool }).catch((err: Error) => {
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
  const pollerService = await poller.start(
    loadConfig(poller.pollerConfigSchema, { prefix: "tracker-poller", env, overrides: { announcePort: worker.port } }),
    { queue, claims, bus, store, catalog, torrents, logger, onEvent: hooks.onEvent },
  );
  services.unshift(pollerService);

  queue.on({
    progress: (_id, p) => {
      const s = worker.swarmStatus(p.infoHash) as { peers?: number; downloadRate?: number; uploadRate?: number } | undefined;
      hooks.onProgress({
        ...p,
        peers: s?.peers ?? 0,
        downloadRateBytesPerSec: s?.downloadRate ?? 0,
        uploadRateBytesPerSec: s?.uploadRate ?? 0,
      });
    },
  });
  const jobId = await queue.add({ source, destination: resolve(args.out) });
  return {
    result: queue.waitUntilFinished(jobId),
    cancel: () => queue.cancel(jobId),
    async shutdown() {
      for (const s of services) await s.stop().catch((err: unknown) => logger.error({ err }, "service stop failed"));
      await queue.close();
      await bus.close();
      await store.close();
      await claims.close();
    },
  };
}

async function resolveSource(source: string): Promise<TorrentSource> {
  if (/^magnet:/i.test(source)) {
    throw new CliError("magnet links are not supported yet: pass a .torrent file or an http(s) URL of one", 2);
  }
  if (/^https?:\/\//i.test(source)) return { kind: "url", url: source };
  try {
    return { kind: "torrent", base64: (await readFile(source)).toString("base64") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read torrent file ${source}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`, 2);
  }
}
