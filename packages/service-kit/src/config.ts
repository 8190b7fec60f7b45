import { z } from "zod";
import { ShoalError } from "@shoal/errors";

export type ConfigErrorCode = "INVALID_CONFIG";

/** Raised at start when a config key is missing or malformed; the message names the key. */
export class ConfigError extends ShoalError<ConfigErrorCode> {
  static override readonly name = "ConfigError";
}

/**
 * Reads a service's config from (in order of precedence) explicit overrides, then environment
 * variables `SHOAL_<PREFIX>_<KEY>` (camelCase keys become SCREAMING_SNAKE), then the schema's
 * defaults. The environment is passed in, never read here, so tests and embedded mode control it.
 */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  options: { prefix: string; env?: Readonly<Record<string, string | undefined>>; overrides?: Record<string, unknown> },
): z.infer<S> {
  const raw: Record<string, unknown> = {};
  const env = options.env ?? {};
  for (const key of Object.keys(schema.shape)) {
    const envName = envNameOf(options.prefix, key);
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== "") raw[key] = fromEnv;
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const key = issue.path.join(".");
      return `${key} (${envNameOf(options.prefix, String(issue.path[0] ?? key))}): ${issue.message}`;
    });
    throw new ConfigError("INVALID_CONFIG", `invalid config: ${issues.join("; ")}`, {
      context: { keys: parsed.error.issues.map((i) => i.path.join(".")) },
    });
  }
  return parsed.data;
}

/** `SHOAL_PEER_WORKER_MAX_CONNECTIONS` for prefix `peer-worker` and key `maxConnections`. */
export function envNameOf(prefix: string, key: string): string {
  const snake = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  const pre = prefix.replace(/-/g, "_").toUpperCase();
  return pre ? `SHOAL_${pre}_${snake}` : `SHOAL_${snake}`;
}

/** Environment strings to numbers and booleans for zod schemas. */
export const envNumber = () => z.coerce.number();
export const envBoolean = () =>
  z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
