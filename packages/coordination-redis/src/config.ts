import { z } from "zod";

/**
 * The Redis adapters' config. Services read it with service-kit's `loadConfig` under their own
 * prefix (for example `SHOAL_PEER_WORKER_REDIS_URL`); this package only validates what it is given.
 */
export const redisConfigSchema = z.object({
  /** Where Redis listens: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: z.string().url().default("redis://127.0.0.1:6379"),
  /**
   * First part of every key, so several deployments (or test cases) can share one Redis. It may
   * not contain `{` or `}`: Redis Cluster hashes the first `{...}` of a key, which must be the
   * torrent's infoHash so all its keys stay in one slot.
   */
  prefix: z
    .string()
    .min(1)
    .regex(/^[^{}]+$/, "must not contain { or }")
    .default("shoal"),
  /**
   * How long one connection attempt may take. On a LAN Redis accepts in milliseconds; seconds
   * mean it is down or unreachable, and the call fails with BACKEND_UNAVAILABLE instead of waiting.
   */
  connectTimeoutMs: z.coerce.number().int().positive().default(5_000),
  /**
   * How long a call waits for Redis's answer once sent. Every script is bounded (the longest,
   * creating a 2,097,152-piece table, runs about a quarter of a second), so a longer wait means
   * a hung or overloaded server; the call then fails with BACKEND_UNAVAILABLE and may be retried.
   */
  commandTimeoutMs: z.coerce.number().int().positive().default(5_000),
});

export type RedisConfig = z.infer<typeof redisConfigSchema>;
/** What callers may pass: every key has a default. */
export type RedisConfigInput = z.input<typeof redisConfigSchema>;
