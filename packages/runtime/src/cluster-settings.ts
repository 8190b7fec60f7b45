import { ConfigError } from "@shoal/service-kit";
import { s3ConnectionFrom, type S3Connection } from "./s3-connection.js";

/** Values given on the command line; each falls back to its environment variable. */
export interface ClusterFlags {
  readonly redis?: string;
  readonly nats?: string;
  readonly s3?: string;
  readonly metricsPort?: string;
}

/** Where a cluster process finds Redis, NATS and S3, and where it serves its metrics. */
export interface ClusterSettings {
  readonly redisUrl: string;
  /** One or more `nats://host:port` (comma-separated in the flag or variable). */
  readonly natsServers: readonly string[];
  /** Absent when no endpoint is set: torrents bound for a bucket then fail, naming what is missing. */
  readonly s3: S3Connection | undefined;
  /** Undefined: no operations endpoint (CLI commands); 0: a free port. */
  readonly metricsPort: number | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The flag's value, else the variable's (trimmed), with the name of the one it came from; undefined when neither is set. */
export function valueOf(flag: string | undefined, flagName: string, env: Env, envName: string): [string, string] | undefined {
  if (flag !== undefined && flag.trim() !== "") return [flagName, flag.trim()];
  const v = env[envName]?.trim();
  return v ? [envName, v] : undefined;
}

/** `redis://host:port` from `--redis` or SHOAL_REDIS_URL; a one-line ConfigError names the key when missing or malformed. */
export function redisUrlFrom(flag: string | undefined, env: Env): string {
  const got = valueOf(flag, "--redis", env, "SHOAL_REDIS_URL");
  if (!got) throw new ConfigError("INVALID_CONFIG", "Redis missing: set --redis redis://host:port or SHOAL_REDIS_URL");
  const [where, raw] = got;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" is not a URL (expected redis://host:port)`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" must start with redis:// or rediss://`);
  }
  if (!url.hostname) throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" names no host`);
  return raw;
}

/** NATS servers from `--nats` or SHOAL_NATS_URL (comma-separated for several). */
export function natsServersFrom(flag: string | undefined, env: Env): string[] {
  const got = valueOf(flag, "--nats", env, "SHOAL_NATS_URL");
  if (!got) throw new ConfigError("INVALID_CONFIG", "NATS missing: set --nats nats://host:port or SHOAL_NATS_URL");
  const [where, raw] = got;
  const servers = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const s of servers) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new ConfigError("INVALID_CONFIG", `${where}: "${s}" is not a URL (expected nats://host:port)`);
    }
    if (!["nats:", "tls:", "ws:", "wss:"].includes(url.protocol) || !url.hostname) {
      throw new ConfigError("INVALID_CONFIG", `${where}: "${s}" must be nats://host:port`);
    }
  }
  if (servers.length === 0) throw new ConfigError("INVALID_CONFIG", `${where} is empty: expected nats://host:port`);
  return servers;
}

/** A TCP port from a flag or variable: an integer 0-65535. */
export function portFrom(flag: string | undefined, flagName: string, env: Env, envName: string): number | undefined {
  const got = valueOf(flag, flagName, env, envName);
  if (!got) return undefined;
  const [where, raw] = got;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" is not a port (an integer from 0 to 65535; 0 = any free port)`);
  }
  return n;
}

/** pino's levels; `silent` turns logging off. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The log level from `--log-level` or SHOAL_LOG_LEVEL (default info), checked before a logger exists. */
export function logLevelFrom(flag: string | undefined, env: Env): string {
  const got = valueOf(flag, "--log-level", env, "SHOAL_LOG_LEVEL");
  if (!got) return "info";
  const [where, raw] = got;
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" is not a log level (one of ${LOG_LEVELS.join(", ")})`);
  }
  return raw;
}

/** A number of seconds, 0 or more, from the variable `envName`; `fallback` when unset. */
export function secondsFrom(env: Env, envName: string, fallback: number): number {
  const got = valueOf(undefined, "", env, envName);
  if (!got) return fallback;
  const [where, raw] = got;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" is not a number of seconds (0 or more)`);
  return n;
}

/**
 * Everything a cluster process needs to reach the backends. `needs` says which must be set;
 * the S3 endpoint is validated whenever it is given.
 */
export function clusterSettingsFrom(flags: ClusterFlags, env: Env, needs: { s3: boolean }): ClusterSettings {
  return {
    redisUrl: redisUrlFrom(flags.redis, env),
    natsServers: natsServersFrom(flags.nats, env),
    s3: s3ConnectionFrom(flags.s3, env, needs.s3),
    metricsPort: portFrom(flags.metricsPort, "--metrics-port", env, "SHOAL_METRICS_PORT"),
  };
}
