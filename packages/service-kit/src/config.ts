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
 *
 * An empty or blank variable counts as unset: `FOO= ` in a unit file is almost always a value
 * someone meant to remove, and coerced to a number it would silently become 0. A variable under
 * the service's prefix that names no key, and an override key the schema does not have, are
 * refused: a typo (`..._MAX_CONECTIONS`) would otherwise be ignored and the default used without
 * a word. Every failure is a ConfigError INVALID_CONFIG whose message names the key, its
 * variable and where the bad value came from.
 */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  options: { prefix: string; env?: Readonly<Record<string, string | undefined>>; overrides?: Record<string, unknown> },
): z.infer<S> {
  const raw: Record<string, unknown> = {};
  const source = new Map<string, string>();
  const env = options.env ?? {};
  const keys = Object.keys(schema.shape);
  const problems: { key: string; text: string }[] = [];
  const envNames = new Map(keys.map((key) => [envNameOf(options.prefix, key), key]));
  for (const [envName, key] of envNames) {
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      raw[key] = fromEnv;
      source.set(key, "from the environment");
    }
  }
  // Only a non-empty prefix owns a namespace: with none, every SHOAL_ variable of every other
  // service would count as unknown.
  if (options.prefix !== "") {
    const ownPrefix = envNameOf(options.prefix, "");
    for (const name of Object.keys(env)) {
      if (name.startsWith(ownPrefix) && !envNames.has(name)) {
        problems.push({ key: name, text: `${name}: not a config key of ${options.prefix} (known: ${[...envNames.keys()].join(", ")})` });
      }
    }
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(schema.shape, key)) {
      problems.push({ key, text: `${key}: override names no config key of ${options.prefix || "this service"}` });
      continue;
    }
    if (value !== undefined) {
      raw[key] = value;
      source.set(key, "from overrides");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.join(".");
      const top = String(issue.path[0] ?? key);
      problems.push({
        key,
        text: `${key} (${envNameOf(options.prefix, top)}, ${source.get(top) ?? "not set"}): ${issue.message}`,
      });
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError("INVALID_CONFIG", `invalid config: ${problems.map((p) => p.text).join("; ")}`, {
      context: { keys: problems.map((p) => p.key) },
    });
  }
  return parsed.data;
}

/** `SHOAL_PEER_WORKER_MAX_CONNECTIONS` for prefix `peer-worker` and key `maxConnections`. */
export function envNameOf(prefix: string, key: string): string {
  // Binary units stay one word: `maxBufferedMiB` is MAX_BUFFERED_MIB, not MAX_BUFFERED_MI_B.
  const snake = key
    .replace(/([KMGT])iB\b/g, "$1ib")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase();
  const pre = prefix.replace(/-/g, "_").toUpperCase();
  return pre ? `SHOAL_${pre}_${snake}` : `SHOAL_${snake}`;
}

/**
 * Environment strings to numbers and booleans for zod schemas. Numbers must be finite:
 * `Infinity` seconds would reach setTimeout, which fires an out-of-range delay after 1 ms.
 */
export const envNumber = () => z.coerce.number().finite();
export const envBoolean = () =>
  z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
