import { parseArgs } from "node:util";
// Not from the packages that run the services (the runtime's main entry, the peer-worker), which
// take most of a second to load: get, info, verify and --help parse their command line here.
import { parseFileSelection, parseRate, webSeedChoice, type WebSeedChoice } from "@shoal/runtime/commands";
import { dhtSettingsFrom } from "@shoal/runtime/dht-settings";
import { ENCRYPTION_POLICIES, type EncryptionPolicy } from "@shoal/wire-net";

export const USAGE = `usage: shoal <command> [options]

commands:
  shoal get <file.torrent | http(s)://.../file.torrent | 'magnet:?...'> --out <dir | s3://BUCKET/PREFIX> [options]
      Downloads a torrent on this machine; the data lands at <dir>/<torrent name>, or in the
      bucket at PREFIX/<torrent name> (a multi-file torrent's files below it). Running the
      same command again resumes: data already there is rechecked, not downloaded again.
      A magnet link (xt=urn:btih:<hex|base32>, with tr= trackers and/or x.pe=host:port peers)
      has its metadata fetched from those peers and checked against the hash (BEP 9).
      Peers are also found through the DHT (BEP 5), unless the torrent is private or
      --no-dht is given: a magnet link needs neither tr= nor x.pe= then.
  shoal verify <file.torrent | http(s)://.../file.torrent> --in <dir | s3://BUCKET/PREFIX> [options]
      Checks every file that "shoal get --out" wrote there against the torrent's piece hashes
      and sizes. Exit status 0 when all match, 1 listing each file that does not.
  shoal info <file.torrent | http(s)://.../file.torrent> [--json]
      Shows the torrent: name, info hash, size, pieces, trackers, web seeds and its files,
      numbered from 0 as --select takes them.

options of get:
  -o, --out DEST              where the torrent's data goes (required): a directory, or
                              s3://BUCKET/PREFIX (the bucket must exist)
      --select LIST           download only these files: indices as "shoal info" numbers them,
                              comma-separated, with ranges (0,3-5)
      --max-download-rate R   bytes per second, with an optional binary suffix (500K, 4M, 1G;
                              4M = 4 MiB/s); 0 = unlimited (default)
      --max-upload-rate R     the same for uploads
      --web-seed URL          also fetch from this HTTP mirror (BEP 19; repeatable): a
                              single-file torrent's file, or the directory holding the
                              torrent's top directory
      --no-web-seeds          do not use the torrent's own web seeds (url-list); those given
                              with --web-seed are still used
      --seed-ratio X          after completion keep uploading until uploaded/size reaches X
      --seed-time SECONDS     after completion keep uploading for this long (with --seed-ratio:
                              whichever comes first); Ctrl-C ends seeding with exit status 0
  -p, --port N                TCP port for incoming peers (default: 6881, 0 = any free port)
      --dht-bootstrap LIST    join the DHT through these nodes, host:port[,host:port...],
                              instead of the public routers (SHOAL_DHT_BOOTSTRAP)
      --dht-port N            UDP port of the DHT node (SHOAL_DHT_PORT; default 6881, a busy
                              port falls back to a free one; 0 = any free port)
      --no-dht                find peers from trackers and the magnet link only (SHOAL_DHT=off)
      --json                  one JSON event per line on stdout instead of a progress display
  -q, --quiet                 print only errors and the final line
      --max-peers N           connections to peers (default 80)
      --encryption POLICY     protocol encryption (MSE/PE) with peers: prefer (default: dial
                              encrypted, fall back to plaintext for peers that refuse it; accept
                              both), require (encrypted peers only), disable (plaintext only);
                              SHOAL_ENCRYPTION when not given
      --log-level L           write service logs (JSON) to stderr at level L (debug, info, warn)
      --s3 URL                the S3 endpoint for s3:// destinations (see below)

options of verify:
      --in DEST               where "shoal get --out DEST" put the data (required): a
                              directory, or s3://BUCKET/PREFIX
      --select LIST           check only these files (as get takes them); pieces they share
                              with unselected files that are not there are not checked
      --json                  the result as one JSON object on stdout
      --s3 URL                the S3 endpoint for s3:// destinations (see below)

  -h, --help                  this text

S3 destinations (get and verify): the endpoint is --s3 URL, else SHOAL_S3_ENDPOINT, else
  AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (http(s)://host[:port]); credentials come from
  AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the region from AWS_REGION (default us-east-1).

examples:
  shoal info big.torrent
  shoal get big.torrent --out ./downloads --select 0,3-5
  shoal get 'magnet:?xt=urn:btih:0123...cdef&tr=udp%3A%2F%2Ftracker.example%3A1337' --out ./downloads
  shoal get https://example.org/big.torrent -o ./downloads --max-download-rate 4M --seed-ratio 1.5
  shoal get big.torrent --out s3://my-bucket/torrents --s3 http://127.0.0.1:9000
  shoal verify big.torrent --in s3://my-bucket/torrents
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
  /** A directory or `s3://BUCKET/PREFIX`, as given (checked when the download starts). */
  readonly out: string;
  /** The `--s3` endpoint for an s3:// destination; the environment's when undefined. */
  readonly s3: string | undefined;
  readonly port: number;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly maxPeers: number;
  /** prefer, require or disable; undefined = not given (SHOAL_ENCRYPTION, else prefer). */
  readonly encryption: EncryptionPolicy | undefined;
  readonly logLevel: string | undefined;
  /** File indices to download (as `shoal info` numbers them); undefined = every file. */
  readonly select: readonly number[] | undefined;
  /** Bytes per second; 0 = unlimited; undefined = not given (the environment's setting holds). */
  readonly maxDownloadRate: number | undefined;
  readonly maxUploadRate: number | undefined;
  readonly seed: SeedLimits | undefined;
  /** Web seeds: undefined = the torrent's own (url-list) and none added. */
  readonly webSeeds: WebSeedChoice | undefined;
  /** As given; checked with the environment's fallbacks when the download starts. */
  readonly dhtBootstrap: string | undefined;
  readonly dhtPort: string | undefined;
  readonly noDht: boolean;
}

export interface InfoArgs {
  readonly command: "info";
  readonly source: string;
  readonly json: boolean;
}

export interface VerifyArgs {
  readonly command: "verify";
  readonly source: string;
  /** A directory or `s3://BUCKET/PREFIX`, as given. */
  readonly in: string;
  readonly s3: string | undefined;
  /** File indices to check; undefined = every file. */
  readonly select: readonly number[] | undefined;
  readonly json: boolean;
}

export type Args = GetArgs | VerifyArgs | InfoArgs | { readonly command: "help" } | { readonly command: "version" };

/** Thrown for bad command lines: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/** The options each command takes; any other is refused with a message naming its command. */
const OPTIONS_OF = {
  get: ["out", "port", "json", "quiet", "max-peers", "log-level", "select", "max-download-rate", "max-upload-rate", "seed-ratio", "seed-time", "s3", "encryption", "web-seed", "no-web-seeds", "dht-bootstrap", "dht-port", "no-dht"],
  verify: ["in", "select", "json", "s3"],
  info: ["json"],
} as const;

export function parseCommandLine(argv: readonly string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        in: { type: "string" },
        s3: { type: "string" },
        port: { type: "string", short: "p" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        "max-peers": { type: "string" },
        encryption: { type: "string" },
        "log-level": { type: "string" },
        select: { type: "string" },
        "max-download-rate": { type: "string" },
        "max-upload-rate": { type: "string" },
        "seed-ratio": { type: "string" },
        "seed-time": { type: "string" },
        "web-seed": { type: "string", multiple: true },
        "no-web-seeds": { type: "boolean" },
        "dht-bootstrap": { type: "string" },
        "dht-port": { type: "string" },
        "no-dht": { type: "boolean" },
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
  if (command !== "get" && command !== "info" && command !== "verify") throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  if (!source) throw new UsageError(`${command} needs a .torrent file or URL`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const allowed: readonly string[] = OPTIONS_OF[command];
  const stray = Object.keys(values).find((k) => values[k as keyof typeof values] !== undefined && !allowed.includes(k));
  if (stray) {
    const owner = (Object.keys(OPTIONS_OF) as (keyof typeof OPTIONS_OF)[]).find((c) => (OPTIONS_OF[c] as readonly string[]).includes(stray));
    throw new UsageError(`--${stray} is ${owner ? `an option of ${owner}` : "not an option"}, not of ${command}`);
  }
  const select = values.select === undefined ? undefined : wrap("--select", () => parseFileSelection(values.select!));
  if (command === "info") return { command: "info", source, json: values.json ?? false };
  if (command === "verify") {
    if (values.in === undefined || values.in.trim() === "") throw new UsageError("--in DIR or --in s3://BUCKET/PREFIX is required");
    return { command: "verify", source, in: values.in, s3: values.s3, select, json: values.json ?? false };
  }
  if (!values.out) throw new UsageError("--out DIR is required (or --out s3://BUCKET/PREFIX)");
  const port = intOption("--port", values.port, 6881, 0, 65535);
  const maxPeers = intOption("--max-peers", values["max-peers"], 80, 1, 2000);
  const got: GetArgs = {
    command: "get",
    source,
    out: values.out,
    s3: values.s3,
    port,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    maxPeers,
    encryption: encryptionOption(values.encryption),
    logLevel: values["log-level"],
    select,
    maxDownloadRate: values["max-download-rate"] === undefined ? undefined : wrap("--max-download-rate", () => parseRate(values["max-download-rate"]!)),
    maxUploadRate: values["max-upload-rate"] === undefined ? undefined : wrap("--max-upload-rate", () => parseRate(values["max-upload-rate"]!)),
    seed: seedLimits(values["seed-ratio"], values["seed-time"]),
    webSeeds: wrap("--web-seed", () => webSeedChoice(values["no-web-seeds"], values["web-seed"])),
    dhtBootstrap: values["dht-bootstrap"],
    dhtPort: values["dht-port"],
    noDht: values["no-dht"] ?? false,
  };
  // Flags are checked here (a usage error, exit 2); the variables when the download starts.
  try {
    dhtSettingsFrom({ dhtBootstrap: got.dhtBootstrap, dhtPort: got.dhtPort, noDht: got.noDht }, {});
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return got;
}

function encryptionOption(raw: string | undefined): EncryptionPolicy | undefined {
  if (raw === undefined) return undefined;
  if (!(ENCRYPTION_POLICIES as readonly string[]).includes(raw)) {
    throw new UsageError(`--encryption must be one of ${ENCRYPTION_POLICIES.join(", ")}, got "${raw}"`);
  }
  return raw as EncryptionPolicy;
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
