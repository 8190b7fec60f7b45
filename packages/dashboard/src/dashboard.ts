import type { ClaimTable, JobQueue, PieceBus, Subscription } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { ClusterWatch } from "./cluster-watch.js";
import type { DashboardConfig } from "./config.js";
import { startDashboardServer } from "./dashboard-server.js";
import { WorkerBoard } from "./worker-board.js";

/** Time between attempts to reach NATS while it is not there at start. */
const NATS_RETRY_MS = 2_000;

export interface DashboardDeps {
  readonly queue: JobQueue;
  readonly claims: ClaimTable & { readonly isConnected: boolean };
  /**
   * Connects the bus; called again every two seconds until it succeeds, so the dashboard starts
   * (and shows NATS as down) while NATS is away. Once connected, the bus reconnects by itself.
   */
  readonly connectBus: () => Promise<PieceBus & { readonly isConnected: boolean }>;
  readonly logger: Logger;
  /** `--s3` as given, for the bucket check of submissions. */
  readonly s3Flag: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
}

export interface RunningDashboard {
  /** Where the page is, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Serves the dashboard until `stop`; backends may come and go meanwhile. */
export async function startDashboard(config: DashboardConfig, deps: DashboardDeps): Promise<RunningDashboard> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: "dashboard" });
  const board = new WorkerBoard(now);
  let bus: (PieceBus & { readonly isConnected: boolean }) | undefined;
  let statsSub: Subscription | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connectBus = async (): Promise<void> => {
    try {
      const b = await deps.connectBus();
      if (stopped) {
        await b.close();
        return;
      }
      bus = b;
      statsSub = await b.subscribe("swarm_stats", "*", (m) => board.update(m));
    } catch (err) {
      if (stopped) return;
      logger.warn({ op: "nats.connect", err: err instanceof Error ? err.message : String(err) }, "NATS not reachable; trying again");
      retry = setTimeout(() => void connectBus(), NATS_RETRY_MS);
    }
  };
  const connecting = connectBus();
  const watch = new ClusterWatch(
    {
      queue: deps.queue,
      claims: deps.claims,
      workers: board,
      health: () => ({ redis: deps.claims.isConnected, nats: bus?.isConnected ?? false }),
      logger,
      now,
    },
    { refreshMs: config.refreshMs, jobLimit: config.jobLimit },
  );
  const server = await startDashboardServer(config.host, config.port, { watch, queue: deps.queue, logger, s3Flag: deps.s3Flag, env: deps.env });
  logger.info({ op: "dashboard.start", url: server.url }, `dashboard at ${server.url}`);
  return {
    url: server.url,
    port: server.port,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await server.close();
      await watch.stop();
      await connecting;
      await statsSub?.unsubscribe().catch(() => undefined);
      await bus?.close().catch(() => undefined);
    },
  };
}
