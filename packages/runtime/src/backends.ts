import { isShoalError } from "@shoal/errors";
import { NatsBus, type BusStats } from "@shoal/bus-nats";
import type { ClaimTable, JobQueue, PieceBus, TorrentCatalog } from "@shoal/coordination";
import { RedisCatalog, RedisClaimTable, RedisUploadLedger } from "@shoal/coordination-redis";
import { BullJobQueue } from "@shoal/queue-bullmq";
import { TorrentInfoCache } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import { RoutingStore } from "./routing-store.js";
import type { ClusterSettings } from "./cluster-settings.js";
import { redisUnreachable } from "./redis-unreachable.js";

/**
 * Services and their backends often start together (a compose file, a pod): a backend that
 * answers within this long is not worth a warning, one that does not is what an operator
 * watching a service that seems stuck needs to read.
 */
const QUIET_WAIT_MS = 3_000;

/** Queue groups of the durable subjects: their consumers exist before anyone publishes. */
export const DURABLE_GROUPS = ["piece_staged:piece-verifier", "piece_staged:storage-writer", "torrent_complete:storage-writer"] as const;

/** The cluster's adapters behind the ports, as one process uses them. */
export interface Backends {
  readonly claims: ClaimTable;
  readonly catalog: TorrentCatalog;
  readonly bus: PieceBus;
  readonly store: RoutingStore;
  readonly torrents: TorrentInfoCache;
  /** Made on first use: only the tracker-poller and the job commands need it. */
  queue(): JobQueue;
  /** Every backend connected right now. */
  health(): Record<string, boolean>;
  /** The bus's message counts, for the metrics endpoint. */
  busStats(): BusStats;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Shown in NATS's connection list. */
  readonly name: string;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long to keep trying to reach Redis and NATS at start before giving up (ms). */
  readonly waitMs: number;
}

/**
 * Connects to Redis and NATS (trying again until `waitMs` has passed, so services started
 * before their backends wait for them) and prepares the store router. Throws the last
 * connection error, whose message names the backend and its address.
 */
export async function connectBackends(settings: ClusterSettings, o: ConnectOptions): Promise<Backends> {
  const deadline = Date.now() + o.waitMs;
  const claims = new RedisClaimTable({ url: settings.redisUrl });
  const catalog = new RedisCatalog({ url: settings.redisUrl });
  // Multipart upload ids and part ETags in Redis: a writer restarted anywhere continues the same
  // uploads, and a torrent's owner aborting a cancelled torrent finds them.
  const ledger = new RedisUploadLedger({ url: settings.redisUrl });
  let bus: NatsBus | undefined;
  try {
    await untilDeadline(deadline, o.logger, "redis", () => catalog.get("0".repeat(40))).catch(async (err: unknown) => {
      throw await redisUnreachable(settings.redisUrl, err, ` (waited ${Math.round(o.waitMs / 1000)} s, SHOAL_CONNECT_WAIT_SECONDS)`);
    });
    bus = await untilDeadline(deadline, o.logger, "nats", () =>
      NatsBus.connect({ servers: [...settings.natsServers], name: o.name, groups: [...DURABLE_GROUPS] }, { logger: o.logger }),
    );
  } catch (err) {
    await Promise.allSettled([claims.close(), catalog.close(), ledger.close()]);
    throw err;
  }
  const natsBus = bus;
  const store = new RoutingStore({
    destinationOf: async (infoHash) => {
      const rec = await catalog.get(infoHash);
      if (!rec) throw new Error(`torrent ${infoHash} is not in the catalog`);
      return rec.destination;
    },
    s3: settings.s3,
    ledger,
    env: o.env,
  });
  const torrents = new TorrentInfoCache(async (ih) => catalog.get(ih));
  let queue: BullJobQueue | undefined;
  return {
    claims,
    catalog,
    bus: natsBus,
    store,
    torrents,
    queue: () => (queue ??= new BullJobQueue({ config: { redisUrl: settings.redisUrl }, logger: o.logger })),
    health: () => ({ redis: claims.isConnected, nats: natsBus.isConnected }),
    busStats: () => natsBus.stats(),
    async close() {
      await queue?.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await natsBus.close().catch(() => undefined);
      await Promise.allSettled([claims.close(), catalog.close(), ledger.close()]);
    },
  };
}

/** Runs `fn` until it succeeds or the deadline passes; only backend outages are tried again. */
async function untilDeadline<T>(deadline: number, logger: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  const quietUntil = Date.now() + QUIET_WAIT_MS;
  let logged = false;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const retryable = isShoalError(err) && err.retryable && !/refused access/.test(err.message);
      if (!retryable || Date.now() >= deadline) throw err;
      if (!logged && Date.now() >= quietUntil) {
        logger.warn({ op: `${what}.connect`, err: (err as Error).message }, `waiting for ${what}`);
        logged = true;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
