import { homedir } from "node:os";
import { join } from "node:path";
import { DhtError, parseBootstrapList } from "@shoal/dht";
import { ConfigError } from "@shoal/service-kit";
import { portFrom } from "./cluster-settings.js";

type Env = Readonly<Record<string, string | undefined>>;

/** `--dht-bootstrap`, `--no-dht` and `--dht-port` as given on the command line. */
export interface DhtFlags {
  readonly dhtBootstrap?: string | undefined;
  readonly noDht?: boolean | undefined;
  readonly dhtPort?: string | undefined;
}

/** Tracker-poller config overrides for its DHT node. */
export interface DhtOverrides {
  readonly dht: boolean;
  readonly dhtBootstrap?: string;
  readonly dhtPort?: number;
  readonly dhtStateFile?: string;
}

const OFF = ["0", "false", "off", "no"];
const ON = ["1", "true", "on", "yes"];

/**
 * The DHT settings of a tracker-poller (in a service or in `shoal get`): each flag falls back
 * to its variable (SHOAL_DHT_BOOTSTRAP, SHOAL_DHT_PORT, SHOAL_DHT=off or SHOAL_NO_DHT=1 for
 * --no-dht, SHOAL_DHT_STATE_FILE). A bad value is a one-line ConfigError naming the flag or
 * variable it came from.
 */
export function dhtSettingsFrom(flags: DhtFlags, env: Env): DhtOverrides {
  const switchVar = (name: string, offWhen: "off" | "on"): boolean | undefined => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === "") return undefined;
    if (!OFF.includes(raw) && !ON.includes(raw)) throw new ConfigError("INVALID_CONFIG", `${name}: "${env[name]}" is not on or off (1/0, true/false)`);
    return offWhen === "off" ? OFF.includes(raw) : ON.includes(raw);
  };
  const off = flags.noDht === true || switchVar("SHOAL_DHT", "off") === true || switchVar("SHOAL_NO_DHT", "on") === true;
  let bootstrap: string | undefined;
  const [where, raw] =
    flags.dhtBootstrap !== undefined ? ["--dht-bootstrap", flags.dhtBootstrap] : env["SHOAL_DHT_BOOTSTRAP"]?.trim() ? ["SHOAL_DHT_BOOTSTRAP", env["SHOAL_DHT_BOOTSTRAP"]] : [undefined, undefined];
  if (raw !== undefined) {
    try {
      parseBootstrapList(raw);
    } catch (err) {
      if (!(err instanceof DhtError)) throw err;
      throw new ConfigError("INVALID_CONFIG", `${where}: ${err.message}`);
    }
    bootstrap = raw.trim();
  }
  const port = portFrom(flags.dhtPort, "--dht-port", env, "SHOAL_DHT_PORT");
  const stateFile = env["SHOAL_DHT_STATE_FILE"]?.trim();
  return {
    dht: !off,
    ...(bootstrap !== undefined ? { dhtBootstrap: bootstrap } : {}),
    ...(port !== undefined ? { dhtPort: port } : {}),
    ...(stateFile ? { dhtStateFile: stateFile } : {}),
  };
}

/**
 * Where `shoal get` keeps its DHT node (id and known nodes) between runs: the per-user state
 * directory ($XDG_STATE_HOME/shoal, else ~/.local/state/shoal), so every download on this
 * machine starts from the nodes the last one knew.
 */
export function userDhtStateFile(env: Env): string {
  const base = env["XDG_STATE_HOME"]?.trim() || join(homedir(), ".local", "state");
  return join(base, "shoal", "dht-node.json");
}
