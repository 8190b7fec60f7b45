import type { ClaimTable, JobQueue, MetadataKeeper, ObjectStore, PieceBus, TorrentCatalog } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import type { Logger, RunningService } from "@shoal/service-kit";
import type { PollerConfig } from "./config.js";
import { runTorrent } from "./handlers/run-torrent.js";
import { PieceStateBoard } from "./piece-state-board.js";
import { startDhtRunner, type DhtRunner } from "./dht/dht-runner.js";

export interface PollerDeps {
  readonly queue: JobQueue;
  readonly claims: ClaimTable;
  readonly bus: PieceBus;
  readonly store: ObjectStore;
  readonly catalog: TorrentCatalog;
  readonly logger: Logger;
  /**
   * The metadata cache of services in the same process (embedded mode): each torrent the poller
   * parses is added to it, so they do not parse it a second time.
   */
  readonly torrents?: TorrentInfoCache;
  /**
   * Keeps a magnet link's fetched metadata at the destination and hands it back to the next run
   * there (`shoal get` into a directory); a cluster has the catalog for that and passes none.
   */
  readonly metadataKeeper?: MetadataKeeper;
  /** Lifecycle events (metadata, resumed, warning) for a CLI to show. */
  readonly onEvent?: (type: string, fields: Record<string, unknown>) => void;
}

/** The tracker-poller: owns each torrent job from metadata to completion. */
export async function start(config: PollerConfig, deps: PollerDeps): Promise<RunningService> {
  const logger = deps.logger.child({ component: "tracker-poller" });
  let running = 0;
  if (config.maxActiveTorrents !== undefined) {
    await deps.queue.setActiveLimit(config.maxActiveTorrents === 0 ? null : config.maxActiveTorrents);
    logger.info(
      { op: "queue.setActiveLimit", limit: config.maxActiveTorrents },
      config.maxActiveTorrents === 0 ? "no cluster-wide cap on active torrents" : `at most ${config.maxActiveTorrents} torrents active in the cluster`,
    );
  }
  const board = new PieceStateBoard();
  // One DHT node for every torrent of this poller.
  const dht: DhtRunner | undefined = config.dht ? await startDhtRunner(config, logger) : undefined;
  const processor = await deps.queue.process(
    async (job, ctx) => {
      running++;
      try {
        return await runTorrent(config, { ...deps, logger, board, ...(dht ? { dht } : {}) }, job, ctx);
      } finally {
        running--;
      }
    },
    { concurrency: config.concurrency },
  );
  return {
    async stop() {
      await processor.close();
      await dht?.stop();
    },
    // pieceStates: running torrents and those that ended here lately, by info hash.
    status: () => ({ runningTorrents: running, pieceStates: board.snapshot(), ...(dht ? { dht: { port: dht.port, ...dht.stats() } } : {}) }),
  };
}
