import type { ClaimTable, ObjectStore, PieceBus } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import type { Logger, RunningService } from "@shoal/service-kit";
import type { WriterConfig } from "./config.js";
import { writeVerified, type PendingWrites, type WriteStats } from "./handlers/write-verified.js";

export interface WriterDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly torrents: TorrentInfoCache;
  readonly logger: Logger;
}

/** The storage-writer: turns verified pieces into the final files of the object store. */
export async function start(config: WriterConfig, deps: WriterDeps): Promise<RunningService> {
  const logger = deps.logger.child({ component: "writer" });
  const stats: WriteStats = { stored: 0, stale: 0, writtenBytes: 0 };
  const opened = new Map<string, Promise<void>>();
  const pending: PendingWrites = new Map();
  const ensureOpen = (infoHash: string): Promise<void> => {
    let p = opened.get(infoHash);
    if (!p) {
      p = deps.torrents.get(infoHash).then((info) => deps.store.openTorrent(info.layout));
      p.catch(() => opened.delete(infoHash));
      opened.set(infoHash, p);
    }
    return p;
  };
  const sub = await deps.bus.subscribe(
    "piece_verified",
    "*",
    (msg) => writeVerified({ ...deps, logger, ensureOpen, pending }, msg, stats),
    { group: config.group, ackWaitMs: config.ackWaitSeconds * 1000 },
  );
  return {
    async stop() {
      await sub.unsubscribe();
    },
    status: () => ({ ...stats }),
  };
}
