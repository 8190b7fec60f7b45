import { NatsBus } from "@shoal/bus-nats";
import { RedisClaimTable } from "@shoal/coordination-redis";
import { BullJobQueue } from "@shoal/queue-bullmq";
import { natsServersFrom, portFrom, redisUrlFrom, s3ConnectionFrom } from "@shoal/runtime";
import { ConfigError, loadConfig, type Logger } from "@shoal/service-kit";
import { dashboardConfigSchema } from "./config.js";
import { startDashboard, type RunningDashboard } from "./dashboard.js";

/** What `shoal dashboard` takes on its command line; each falls back to its variable. */
export interface DashboardFlags {
  readonly redis?: string | undefined;
  readonly nats?: string | undefined;
  readonly s3?: string | undefined;
  readonly port?: string | undefined;
  readonly host?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `shoal dashboard`: checks the settings (a ConfigError naming the flag or variable), connects
 * to the cluster's Redis and NATS (neither needs to be up yet) and serves the page.
 */
export async function runDashboard(flags: DashboardFlags, env: Env, logger: Logger): Promise<RunningDashboard> {
  const redisUrl = redisUrlFrom(flags.redis, env);
  const natsServers = natsServersFrom(flags.nats, env);
  // Validated now so a bad endpoint is reported at start, not at the first submission.
  s3ConnectionFrom(flags.s3, env, false);
  const port = portFrom(flags.port, "--port", env, "SHOAL_DASHBOARD_PORT");
  if (flags.host !== undefined && flags.host.trim() === "") throw new ConfigError("INVALID_CONFIG", "--host is empty: give an address such as 127.0.0.1 or 0.0.0.0");
  const config = loadConfig(dashboardConfigSchema, {
    prefix: "dashboard",
    env,
    overrides: { ...(port !== undefined ? { port } : {}), ...(flags.host !== undefined ? { host: flags.host } : {}) },
  });
  const claims = new RedisClaimTable({ url: redisUrl });
  const queue = new BullJobQueue({ config: { redisUrl, operationTimeoutMs: 5_000 }, logger });
  let running: RunningDashboard;
  try {
    running = await startDashboard(config, {
      queue,
      claims,
      connectBus: () => NatsBus.connect({ servers: [...natsServers], name: "shoal-dashboard" }, { logger }),
      logger,
      s3Flag: flags.s3,
      env,
    });
  } catch (err) {
    await Promise.allSettled([queue.close(), claims.close()]);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw new ConfigError("INVALID_CONFIG", `cannot listen on ${config.host}:${config.port}: ${(err as Error).message} (choose another with --port, 0 = any free port, or --host)`);
    }
    throw err;
  }
  return {
    ...running,
    async stop() {
      await running.stop();
      await Promise.allSettled([queue.close(), claims.close()]);
    },
  };
}
