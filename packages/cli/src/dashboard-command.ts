import { runDashboard, type DashboardFlags } from "@shoal/dashboard";
import { logLevelFrom } from "@shoal/runtime";
import { createLogger } from "@shoal/service-kit";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `shoal dashboard`: serves the page until SIGTERM or SIGINT, then closes its connections and
 * exits 0. The URL goes to stdout for people and scripts; logs are pino JSON on stderr.
 */
export async function dashboardCommand(flags: DashboardFlags & { logLevel?: string | undefined }, env: Env): Promise<number> {
  const logger = createLogger({ service: "dashboard", level: logLevelFrom(flags.logLevel, env) });
  const running = await runDashboard(flags, env, logger);
  process.stdout.write(`dashboard at ${running.url}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  // A second signal while closing leaves at once.
  const hard = () => process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  process.once("SIGTERM", hard);
  process.once("SIGINT", hard);
  await running.stop();
  return 0;
}
