import { parseArgs } from "node:util";
import { parseFileSelection, parseRate } from "./option-values.js";

export const USAGE = `usage: shoal <command> [options]

commands:
  shoal get <file.torrent | http(s)://.../file.torrent> --out <dir> [options]
      Downloads a torrent on this machine; the data lands at <dir>/<torrent name>.
      Running the same command again resumes: data already in <dir> is rechecked, not
      downloaded again.
  shoal info <file.torrent | http(s)://.../file.torrent> [--json]
      Shows the torrent: name, info hash, size, pieces, trackers, web seeds and its files,
      numbered from 0 as --select takes them.

options of get:
  -o, --out DIR               where the torrent's data goes (required)
      --select LIST           download only these files: indices as "shoal info" numbers them,
                              comma-separated, with ranges (0,3-5)
      --max-download-rate R   bytes per second, with an optional binary suffix (500K, 4M, 1G;
                              4M = 4 MiB/s); 0 = unlimited (default)
      --max-upload-rate R     the same for uploads
      --seed-ratio X          after completion keep uploading until uploaded/size reaches X
      --seed-time SECONDS     after completion keep uploading for this long (with --seed-ratio:
                              whichever comes first); Ctrl-C ends seeding with exit status 0
  -p, --port N                TCP port for incoming peers (default: 6881, 0 = any free port)
      --json                  one JSON event per line on stdout instead of a progress display
  -q, --quiet                 print only errors and the final line
      --max-peers N           connections to peers (default 80)
      --log-level L           write service logs (JSON) to stderr at level L (debug, info, warn)
  -h, --help                  this text

examples:
  shoal info big.torrent
  shoal get big.torrent --out ./downloads --select 0,3-5
  shoal get https://example.org/big.torrent -o ./downloads --max-download-rate 4M --seed-ratio 1.5
`;

/** What to do once the download is complete; absent means exit at completion. */
export interface SeedLimits {
  /** Stop once uploaded bytes / torrent size reach this. */
  readonly ratio?: number;
  /** Stop after this many seconds of seeding. */
  readonly seconds?: number;
}

export interface GetArgs {
  readonly command: "get";
  readonly source: string;
  readonly out: string;
  readonly port: number;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly maxPeers: number;
  readonly logLevel: string | undefined;
  /** File indices to download (as `shoal info` numbers them); undefined = every file. */
  readonly select: readonly number[] | undefined;
  /** Bytes per second; 0 = unlimited; undefined = not given (the environment's setting holds). */
  readonly maxDownloadRate: number | undefined;
  readonly maxUploadRate: number | undefined;
  readonly seed: SeedLimits | undefined;
}

export interface InfoArgs {
  readonly command: "info";
  readonly source: string;
  readonly json: boolean;
}

export type Args = GetArgs | InfoArgs | { readonly command: "help" } | { readonly command: "version" };

/** Thrown for bad command lines: printed with the usage, exit status 2. */
export class UsageError extends Error {}

export function parseCommandLine(argv: readonly string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        port: { type: "string", short: "p" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        "max-peers": { type: "string" },
        "log-level": { type: "string" },
        select: { type: "string" },
        "max-download-rate": { type: "string" },
        "max-upload-rate": { type: "string" },
        "seed-ratio": { type: "string" },
        "seed-time": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === "help") return { command: "help" };
  if (values.version || positionals[0] === "version") return { command: "version" };
  const [command, source, ...extra] = positionals;
  if (command !== "get" && command !== "info") throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  if (!source) throw new UsageError(`${command} needs a .torrent file or URL`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (command === "info") {
    const getOnly = ["out", "port", "quiet", "max-peers", "select", "max-download-rate", "max-upload-rate", "seed-ratio", "seed-time"] as const;
    const stray = getOnly.find((k) => values[k] !== undefined);
    if (stray) throw new UsageError(`--${stray} is an option of get, not of info`);
    return { command: "info", source, json: values.json ?? false };
  }
  if (!values.out) throw new UsageError("--out DIR is required");
  const port = intOption("--port", values.port, 6881, 0, 65535);
  const maxPeers = intOption("--max-peers", values["max-peers"], 80, 1, 2000);
  return {
    command: "get",
    source,
    out: values.out,
    port,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    maxPeers,
    logLevel: values["log-level"],
    select: values.select === undefined ? undefined : wrap("--select", () => parseFileSelection(values.select!)),
    maxDownloadRate: values["max-download-rate"] === undefined ? undefined : wrap("--max-download-rate", () => parseRate(values["max-download-rate"]!)),
    maxUploadRate: values["max-upload-rate"] === undefined ? undefined : wrap("--max-upload-rate", () => parseRate(values["max-upload-rate"]!)),
    seed: seedLimits(values["seed-ratio"], values["seed-time"]),
  };
}

function seedLimits(ratio: string | undefined, time: string | undefined): SeedLimits | undefined {
  if (ratio === undefined && time === undefined) return undefined;
  const r = ratio === undefined ? undefined : Number(ratio);
  if (r !== undefined && (!Number.isFinite(r) || r < 0 || ratio!.trim() === "")) {
    throw new UsageError(`--seed-ratio must be a number of 0 or more, got "${ratio}"`);
  }
  const s = time === undefined ? undefined : Number(time);
  if (s !== undefined && (!Number.isFinite(s) || s < 0 || time!.trim() === "")) {
    throw new UsageError(`--seed-time must be a number of seconds, 0 or more, got "${time}"`);
  }
  return { ...(r !== undefined ? { ratio: r } : {}), ...(s !== undefined ? { seconds: s } : {}) };
}

function wrap<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message}`);
  }
}

function intOption(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}
