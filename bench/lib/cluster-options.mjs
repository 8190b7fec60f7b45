// Command-line options of cluster-bench.mjs: parsing, validation and the help text.
import { parseArgs } from "node:util";
import { UsageError, parseSize } from "./options.mjs";

export { UsageError };

/** The ways of getting a torrent into a bucket that one invocation compares. */
export const VARIANT_NAMES = ["download-then-upload", "shoal-cluster-1", "shoal-cluster-3"];

export const CLUSTER_USAGE = `usage: node bench/cluster-bench.mjs [options]

Lands one torrent from a local swarm (opentracker + libtorrent seeds on 127.0.0.1) in an S3
bucket (OpenStack Swift with s3api on loopback) in each of these ways, in turn:
  download-then-upload  python-libtorrent downloads to a local directory, then every file is
                        uploaded (16 MiB parts, 4 in flight, as the shoal writer does)
  shoal-cluster-1       tracker-poller, piece-verifier, storage-writer and 1 peer-worker, each
                        a \`shoal service\` process over Redis and NATS; \`shoal submit --wait\`
  shoal-cluster-3       the same with 3 peer-workers
Every object is checked against the payload (size and sha256) after each run.

options (default in brackets):
  --size SIZE        payload size; K, M, G mean KiB, MiB, GiB                      [1G]
  --files N          1: a single file; N > 1: N files in nested directories,
                     sizes log-uniform in [--min-file, --max-file], total SIZE     [1]
  --min-file SIZE    smallest file of a multi-file payload (before scaling)        [1K]
  --max-file SIZE    largest file of a multi-file payload (before scaling)         [50M]
  --dirs N           spread the files evenly over N nested directories             [auto]
  --piece SIZE       piece length, a power of two from 16K to 64M (a piece larger
                     than one NATS message rides the bus in chunks)                [1M]
  --nats-max-payload SIZE  the NATS server's max_payload, from 64K to 64M; 1M is a
                     stock nats-server's                                           [8M]
  --seeds N          libtorrent seeds, each its own process and port               [3]
  --runs N           rounds; each round runs every variant once, order rotated     [1]
  --variants LIST    comma-separated: ${VARIANT_NAMES.join(", ")}
                                                                 [all three]
  --part SIZE        part size of the reference uploader                           [16M]
  --parallel N       parts the reference uploader sends at once                    [4]
  --ref-checksum C   the digest on each body the reference uploader sends: sha256
                     (signed, as the writer by default), md5, or both        [sha256]
  --timeout SEC      a run (both phases, or submit to exit) that takes longer FAILs [600]
  --stall SEC        a shoal run whose progress (pieces by state, bytes downloaded)
                     does not change for this long is stopped and FAILs           [120]
  --service-env K=V  an environment variable for every shoal service, e.g.
                     SHOAL_PEER_WORKER_MAX_BUFFERED_MIB=2048 or
                     NODE_OPTIONS=--max-old-space-size=512 (repeatable)
  --service-node-arg=A  a node option for every shoal service process, e.g.
                     --service-node-arg=--cpu-prof (repeatable; the = is needed)
  --results FILE     append one TSV row per run to FILE (header if FILE is new)
  --json FILE        write every run and the summary as JSON to FILE
  --cache DIR        generated payloads, reused by later invocations  [/tmp/shoal-bench-cache]
  --payload-seed S   seed of the deterministic payload bytes                       [shoal-bench]
  --keep             keep the work directory (torrent, logs) afterwards
  -h, --help         this text

Prints one RESULT line per run, then a SUMMARY line per variant (medians over the passing
runs) and a table of the medians with each shoal variant's ratio against
download-then-upload of this invocation.
Exit status: 0 if every run passed, 1 if any failed, 2 if the benchmark could not run.
`;

function parseCount(text, what, min, max) {
  const n = Number(text);
  if (!/^\d+$/.test(String(text)) || n < min || n > max) {
    throw new UsageError(`${what} "${text}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

const MIN_PIECE_BYTES = 16 * 1024;
/** The test kit's torrent maker goes up to 64 MiB; larger pieces ride the bus in chunks. */
const MAX_PIECE_BYTES = 64 * 1024 * 1024;
/** The bus needs 64 KiB; nats-server takes 64 MiB at most. */
const MIN_NATS_PAYLOAD_BYTES = 64 * 1024;
const MAX_NATS_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** The test kit's NATS server's limit when none is given. */
const DEFAULT_NATS_PAYLOAD = "8M";
/** S3's smallest and largest part. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_BYTES = 5 * 1024 ** 3;

export function parseClusterOptions(argv) {
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
        "nats-max-payload": { type: "string", default: DEFAULT_NATS_PAYLOAD },
        seeds: { type: "string", default: "3" },
        runs: { type: "string", default: "1" },
        variants: { type: "string", default: VARIANT_NAMES.join(",") },
        part: { type: "string", default: "16M" },
        parallel: { type: "string", default: "4" },
        "ref-checksum": { type: "string", default: "sha256" },
        timeout: { type: "string", default: "600" },
        stall: { type: "string", default: "120" },
        "service-env": { type: "string", multiple: true, default: [] },
        "service-node-arg": { type: "string", multiple: true, default: [] },
        results: { type: "string" },
        json: { type: "string" },
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
  if ((pieceBytes & (pieceBytes - 1)) !== 0 || pieceBytes < MIN_PIECE_BYTES || pieceBytes > MAX_PIECE_BYTES) {
    throw new UsageError(`--piece ${v.piece} must be a power of two from 16K to 64M`);
  }
  const natsMaxPayloadBytes = parseSize(v["nats-max-payload"], "--nats-max-payload");
  if (natsMaxPayloadBytes < MIN_NATS_PAYLOAD_BYTES || natsMaxPayloadBytes > MAX_NATS_PAYLOAD_BYTES) {
    throw new UsageError(`--nats-max-payload ${v["nats-max-payload"]} must be from 64K to 64M`);
  }
  const files = parseCount(v.files, "--files", 1, 100_000);
  const minFileBytes = parseSize(v["min-file"], "--min-file");
  const maxFileBytes = parseSize(v["max-file"], "--max-file");
  if (files > 1) {
    if (minFileBytes < 1 || maxFileBytes < minFileBytes) {
      throw new UsageError(`--min-file ${v["min-file"]} and --max-file ${v["max-file"]} must satisfy 1 <= min <= max`);
    }
    if (files > sizeBytes) throw new UsageError(`--files ${files} cannot share --size ${v.size} (at least 1 byte each)`);
  }
  const dirs = v.dirs === undefined ? undefined : parseCount(v.dirs, "--dirs", 1, 100_000);
  if (dirs !== undefined && (files === 1 || dirs > files)) {
    throw new UsageError(`--dirs ${v.dirs} needs a multi-file payload with at least as many files (--files ${files})`);
  }
  const variants = v.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (variants.length === 0) throw new UsageError("--variants names no variant");
  for (const name of variants) {
    if (!VARIANT_NAMES.includes(name)) throw new UsageError(`unknown variant "${name}" (known: ${VARIANT_NAMES.join(", ")})`);
  }
  if (new Set(variants).size !== variants.length) throw new UsageError(`--variants "${v.variants}" names a variant twice`);
  const partBytes = parseSize(v.part, "--part");
  if (partBytes < MIN_PART_BYTES || partBytes > MAX_PART_BYTES) throw new UsageError(`--part ${v.part} must be from 5M to 5G (S3's part limits)`);

  const serviceEnv = {};
  for (const kv of v["service-env"]) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(kv);
    if (m === null) throw new UsageError(`--service-env "${kv}" must be NAME=value`);
    serviceEnv[m[1]] = m[2];
  }

  return {
    help: false,
    sizeBytes,
    files,
    minFileBytes,
    maxFileBytes,
    dirs,
    pieceBytes,
    natsMaxPayloadBytes,
    seeds: parseCount(v.seeds, "--seeds", 1, 50),
    runs: parseCount(v.runs, "--runs", 1, 100),
    variants,
    partBytes,
    parallel: parseCount(v.parallel, "--parallel", 1, 64),
    refChecksum: oneOf(v["ref-checksum"], "--ref-checksum", ["sha256", "md5", "both"]),
    timeoutMs: parseCount(v.timeout, "--timeout", 1, 86_400) * 1000,
    stallMs: parseCount(v.stall, "--stall", 1, 86_400) * 1000,
    serviceEnv,
    serviceNodeArgs: v["service-node-arg"],
    results: v.results,
    json: v.json,
    cacheDir: v.cache,
    payloadSeed: v["payload-seed"],
    keep: v.keep,
  };
}

function oneOf(raw, name, allowed) {
  if (!allowed.includes(raw)) throw new UsageError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  return raw;
}
