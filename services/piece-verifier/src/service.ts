import type { ClaimTable, ObjectStore, PieceBus } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import type { Logger, RunningService } from "@shoal/service-kit";
import type { VerifierConfig } from "./config.js";
import { verifyStaged, type VerifyStats } from "./handlers/verify-staged.js";
import { InlineHasher, ThreadedHasher } from "./hashing/piece-hasher.js";

export interface VerifierDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly torrents: TorrentInfoCache;
  readonly logger: Logger;
}

/** The piece-verifier: the trust boundary between bytes from peers and the final files. */
export async function start(config: VerifierConfig, deps: VerifierDeps): Promise<RunningService> {
  const logger = deps.logger.child({ component: "verifier" });
  const stats: VerifyStats = { verified: 0, failed: 0, stale: 0, hashedBytes: 0, banned: 0 };
  const hasher = config.hashThreads > 0 ? new ThreadedHasher(config.hashThreads) : new InlineHasher();
  const sub = await deps.bus.subscribe(
    "piece_staged",
    "*",
    (msg) => verifyStaged({ ...deps, logger, hasher }, msg, stats),
    // The piece is hashed before the handler settles and nothing keeps its bytes, so the bus
    // may gather the next message in the same memory.
    { group: config.group, ackWaitMs: config.ackWaitSeconds * 1000, bytesLent: true },
  );
  return {
    async stop() {
      await sub.unsubscribe();
      await hasher.close();
    },
    status: () => ({ ...stats }),
  };
}
