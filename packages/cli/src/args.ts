import { parseArgs } from "node:util";

export const USAGE = `usage: shoal get <file.torrent | http(s)://.../file.torrent> --out <dir> [options]

Downloads a torrent on this machine; the data lands at <dir>/<torrent name>.
Running the same command again resumes: data already in <dir> is rechecked, not downloaded again.

options:
  -o, --out DIR        where the torrent's data goes (required)
  -p, --port N         TCP port for incoming peers (default: 6881, 0 = any free port)
      --json           one JSON event per line on stdout instead of a progress display
  -q, --quiet          print only errors and the final line
      --max-peers N    connections to peers (default 80)
      --log-level L    write service logs (JSON) to stderr at level L (debug, info, warn)
  -h, --help           this text
`;

export interface GetArgs {
  readonly command: "get";
  readonly source: string;
  readonly out: string;
  readonly port: number;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly maxPeers: number;
  readonly logLevel: string | undefined;
}

export type Args = GetArgs | { readonly command: "help" } | { readonly command: "version" };

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
  if (command !== "get") throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  if (!source) throw new UsageError("get needs a .torrent file or URL");
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
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
  };
}

function intOption(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}
