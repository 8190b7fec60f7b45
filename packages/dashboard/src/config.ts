import { z } from "zod";

/**
 * The dashboard's settings (`SHOAL_DASHBOARD_<KEY>`; `--port` and `--host` override the first
 * two). Where Redis, NATS and S3 are comes from the cluster settings every service reads.
 */
export const dashboardConfigSchema = z.object({
  /** TCP port of the web page and its event stream; 0 = a free port (the URL is logged). */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /**
   * Address to listen on. Loopback by default: the page can queue and cancel jobs and has no
   * login of its own, so reaching it from elsewhere is a choice (a reverse proxy with auth, or
   * `--host 0.0.0.0` on a trusted network).
   */
  host: z.string().trim().min(1).default("127.0.0.1"),
  /**
   * How often the job list and each running job's piece states are read from Redis (ms). Once a
   * second at most: one read of a 100k-piece table is ~100 KB from Redis, shared by every page
   * open, and a person watching does not see finer steps.
   */
  refreshMs: z.coerce.number().int().min(1_000).max(60_000).default(1_000),
  /** Jobs shown: the most recently created ones, as `shoal status` lists them. */
  jobLimit: z.coerce.number().int().min(1).max(500).default(50),
});

export type DashboardConfig = z.infer<typeof dashboardConfigSchema>;
