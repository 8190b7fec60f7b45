// Command-line options of swarm-bench.mjs: parsing, validation and the help text.
import { parseArgs } from "node:util";

export const CLIENT_NAMES = ["shoal", "libtorrent", "aria2", "shoal-rc4"];
/**
 * What runs without --clients. shoal-rc4 is shoal against seeds that force RC4 encryption
 * (MSE/PE), named only to measure what encryption costs.
 */
const DEFAULT_CLIENTS = ["shoal", "libtorrent", "aria2"];

export const USAGE = `usage: node bench/swarm-bench.mjs [options]

Downloads one payload from a local swarm (opentracker + libtorrent seeds, all on 127.0.0.1)
with each client in turn, times it, and checks every byte (sha256 of every file).

options (default in brackets):
  --size SIZE        payload size; K, M, G mean KiB, MiB, GiB                      [1G]
  --files N          1: a single file; N > 1: N files in nested directories,
                     sizes log-uniform in [--min-file, --max-file], total SIZE     [1]
  --min-file SIZE    smallest file of a multi-file payload (before scaling)        [1K]
  --max-file SIZE    largest file of a multi-file payload (before scaling)         [50M]
  --dirs N           spread the files evenly over N nested directories instead of
                     8 files per directory (N <= --files)                          [auto]
  --piece SIZE       piece length, a power of two from 16K to 64M                  [1M]
  --seeds N          libtorrent seeds, each its own process and port               [3]
  --runs N           timed downloads per client                                    [1]
  --clients LIST     comma-separated: ${CLIENT_NAMES.join(", ")}       [${DEFAULT_CLIENTS.join(",")}]
                     (shoal-rc4: shoal, its seeds forcing RC4 protocol encryption)
  --tracker KIND     announce over http or udp (opentracker serves both)           [http]
  --seed-check MODE  full: seeds hash the payload before the clock starts;
                     lazy: libtorrent seed mode, each piece is hashed by the seed
                     the first time it is requested, inside the timed window       [full]
  --timeout SEC      a download that takes longer is killed and FAILs             [900]
  --results FILE     append one TSV row per run to FILE (header if FILE is new)
  --cache DIR        generated payloads, reused by later invocations  [/tmp/shoal-bench-cache]
  --payload-seed S   seed of the deterministic payload bytes                       [shoal-bench]
  --keep             keep the work directory (torrent, logs) afterwards
  -h, --help         this text

Prints one RESULT line per download, then a SUMMARY line per client (medians over the
passing runs) and, when shoal ran, a RATIO line per reference client.
MB/s is 10^6 bytes per second of the downloader's wall time (start to exit).
Exit status: 0 if every download passed, 1 if any failed, 2 on a usage error.
`;

/** A usage error: reported with the help hint and exit status 2. */
export class UsageError extends Error {}

const SIZE_UNITS = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "64M" -> 67108864; plain digits are bytes. */
export function parseSize(text, what) {
  const m = /^(\d+)([KMG]?)$/i.exec(String(text).trim());
  if (m === null) throw new UsageError(`${what} "${text}" is not a size (digits with an optional K, M or G)`);
  const bytes = Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()];
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${what} "${text}" is too large`);
  return bytes;
}

/** 67108864 -> "64M", the shortest exact spelling (used in result lines and cache keys). */
export function formatSize(bytes) {
  for (const [unit, factor] of [["G", 1024 ** 3], ["M", 1024 ** 2], ["K", 1024]]) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

function parseCount(text, what, min, max) {
  const n = Number(text);
  if (!/^\d+$/.test(String(text)) || n < min || n > max) {
    throw new UsageError(`${what} "${text}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** 16 KiB holds one block; 64 MiB is the largest piece the torrent writer accepts. */
const MIN_PIECE_BYTES = 16 * 1024;
const MAX_PIECE_BYTES = 64 * 1024 * 1024;
/** More seeds than this stop being a local benchmark of the downloader and become one of the host. */
const MAX_SEEDS = 50;
/** A file count beyond this measures the file system more than the swarm. */
const MAX_FILES = 100_000;

export function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        size: { type: "string", default: "1G" },
        files: { type: "string", default: "1" },
        "min-file": { type: "string", default: "1K" },
        "max-file": { type: "string", default: "50M" },
        dirs: { type: "string" },
        piece: { type: "string", default: "1M" },
        seeds: { type: "string", default: "3" },
        runs: { type: "string", default: "1" },
        clients: { type: "string", default: DEFAULT_CLIENTS.join(",") },
        tracker: { type: "string", default: "http" },
        "seed-check": { type: "string", default: "full" },
        timeout: { type: "string", default: "900" },
        results: { type: "string" },
        cache: { type: "string", default: "/tmp/shoal-bench-cache" },
        "payload-seed": { type: "string", default: "shoal-bench" },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const v = parsed.values;
  if (v.help) return { help: true };

  const sizeBytes = parseSize(v.size, "--size");
  if (sizeBytes < 1) throw new UsageError("--size must be at least 1 byte");
  const pieceBytes = parseSize(v.piece, "--piece");
  const powerOfTwo = (pieceBytes & (pieceBytes - 1)) === 0;
  if (!powerOfTwo || pieceBytes < MIN_PIECE_BYTES || pieceBytes > MAX_PIECE_BYTES) {
    throw new UsageError(`--piece ${v.piece} must be a power of two from 16K to 64M`);
  }
  const files = parseCount(v.files, "--files", 1, MAX_FILES);
  const minFileBytes = parseSize(v["min-file"], "--min-file");
  const maxFileBytes = parseSize(v["max-file"], "--max-file");
  if (files > 1) {
    if (minFileBytes < 1 || maxFileBytes < minFileBytes) {
      throw new UsageError(`--min-file ${v["min-file"]} and --max-file ${v["max-file"]} must satisfy 1 <= min <= max`);
    }
    if (files > sizeBytes) throw new UsageError(`--files ${files} cannot share --size ${v.size} (at least 1 byte each)`);
  }
  const dirs = v.dirs === undefined ? undefined : parseCount(v.dirs, "--dirs", 1, MAX_FILES);
  if (dirs !== undefined && (files === 1 || dirs > files)) {
    throw new UsageError(`--dirs ${v.dirs} needs a multi-file payload with at least as many files (--files ${files})`);
  }

  const clients = v.clients.split(",").map((c) => c.trim()).filter((c) => c !== "");
  if (clients.length === 0) throw new UsageError("--clients names no client");
  for (const c of clients) {
    if (!CLIENT_NAMES.includes(c)) throw new UsageError(`unknown client "${c}" (known: ${CLIENT_NAMES.join(", ")})`);
  }
  if (new Set(clients).size !== clients.length) throw new UsageError(`--clients "${v.clients}" names a client twice`);
  if (v.tracker !== "http" && v.tracker !== "udp") throw new UsageError(`--tracker must be http or udp, not "${v.tracker}"`);
  if (v["seed-check"] !== "full" && v["seed-check"] !== "lazy") {
    throw new UsageError(`--seed-check must be full or lazy, not "${v["seed-check"]}"`);
  }

  return {
    help: false,
    sizeBytes,
    files,
    minFileBytes,
    maxFileBytes,
    dirs,
    pieceBytes,
    seeds: parseCount(v.seeds, "--seeds", 1, MAX_SEEDS),
    runs: parseCount(v.runs, "--runs", 1, 1000),
    clients,
    tracker: v.tracker,
    seedCheck: v["seed-check"],
    timeoutMs: parseCount(v.timeout, "--timeout", 1, 86_400) * 1000,
    results: v.results,
    cacheDir: v.cache,
    payloadSeed: v["payload-seed"],
    keep: v.keep,
  };
}
