import { parseArgs } from "node:util";
import type { JobInfo, JobProgress, JobQueue, TorrentJobData } from "@shoal/coordination";
import { isShoalError } from "@shoal/errors";
import { parseMetainfo, selectFiles } from "@shoal/metainfo";
import { BullJobQueue } from "@shoal/queue-bullmq";
import {
  checkBucket,
  describeStartFailure,
  formatDestination,
  parseDestination,
  redisUnreachable,
  redisUrlFrom,
  s3ConnectionFrom,
  SERVICE_NAMES,
  startServiceProcess,
  type ServiceName,
} from "@shoal/runtime";
import { ConfigError, silentLogger } from "@shoal/service-kit";
import { CliError } from "./cli-error.js";
import { parseFileSelection, parseRate, webSeedChoice } from "./option-values.js";
import { formatBytes, formatDuration, ProgressReporter, type ProgressMode } from "./progress.js";
import { torrentSourceOf } from "./torrent-source.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Errors about the content of a .torrent: bad input. */
const TORRENT_ERRORS = ["DecodeError", "MetainfoError"];

export const CLUSTER_COMMANDS = ["service", "submit", "status", "cancel"] as const;

export const CLUSTER_USAGE = `cluster commands:
  shoal service tracker-poller|peer-worker|piece-verifier|storage-writer [options]
      Runs one service in the foreground until SIGTERM (drains, exit 0) or SIGINT.
  shoal submit <file.torrent | http(s) URL> --to s3://BUCKET/PREFIX [--wait] [--json]
      Queues a download into the bucket and prints the job id; --wait follows it like get
      (exit 0 once every file is in the bucket and verified, 1 on failure, 2 on bad input).
  shoal status [JOB] [--json]
      Jobs with their state, progress, rate and ETA; one job with its pieces by state and
      workers.
  shoal cancel JOB
      Stops the job everywhere and aborts its unfinished uploads; finished objects stay.

options of the cluster commands (each flag falls back to its environment variable):
      --redis URL             redis://host:port (SHOAL_REDIS_URL)
      --nats URL              nats://host:port, the server with JetStream (SHOAL_NATS_URL)
      --s3 URL                S3 endpoint, path-style (SHOAL_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3,
                              else AWS_ENDPOINT_URL); credentials from AWS_ACCESS_KEY_ID,
                              AWS_SECRET_ACCESS_KEY and AWS_REGION (default us-east-1)
      --metrics-port N        service: /metrics and /healthz on this port (SHOAL_METRICS_PORT;
                              default 9464, 0 = a free port)
  -p, --port N                peer-worker: port for incoming peers (SHOAL_PEER_WORKER_PORT;
                              a busy port falls back to a free one)
      --select LIST           submit: download only these files (as for get)
      --seed-ratio X, --seed-time SECONDS   submit: seed after completion (as for get)
      --max-download-rate R, --max-upload-rate R   submit: rate limits of the whole job, shared
                              equally by the peer-workers on it (500K, 4M, 1G; 0 = unlimited)
      --web-seed URL          submit: also fetch from this HTTP mirror (repeatable; as for get)
      --no-web-seeds          submit: do not use the torrent's own web seeds (url-list)
      --job-id ID             submit: name the job (a second submit with the same id is the same job)
      --log-level L           service: log level (debug, info, warn; default info)
`;

type Env = Readonly<Record<string, string | undefined>>;

/** Runs a cluster command; resolves with the exit status. */
export async function clusterMain(argv: readonly string[], env: Env): Promise<number> {
  const command = argv[0] as (typeof CLUSTER_COMMANDS)[number];
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: {
        redis: { type: "string" },
        nats: { type: "string" },
        s3: { type: "string" },
        "metrics-port": { type: "string" },
        port: { type: "string", short: "p" },
        "log-level": { type: "string" },
        to: { type: "string" },
        wait: { type: "boolean" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        select: { type: "string" },
        "seed-ratio": { type: "string" },
        "seed-time": { type: "string" },
        "max-download-rate": { type: "string" },
        "max-upload-rate": { type: "string" },
        "job-id": { type: "string" },
        "web-seed": { type: "string", multiple: true },
        "no-web-seeds": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    return usage(command, (err as Error).message);
  }
  if (values["help"] === true) {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  try {
    switch (command) {
      case "service":
        return await service(positionals, str, env);
      case "submit":
        return await submit(positionals, values, str, env);
      case "status":
        return await status(positionals, values["json"] === true, str, env);
      case "cancel":
        return await cancel(positionals, str, env);
    }
  } catch (err) {
    if (err instanceof UsageFailure) return usage(command, err.message);
    if (err instanceof CliError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`shoal: ${describeStartFailure(err)}\n`);
    return EXIT_FAILED;
  }
  return usage(command, `unknown command "${String(command)}"`);
}

class UsageFailure extends Error {}

/**
 * A usage error is one line that points at the help: these commands run under supervisors and
 * in scripts, whose logs should show the mistake, not thirty lines of options around it.
 */
function usage(command: string, message: string): number {
  process.stderr.write(`shoal: ${message} (shoal ${command} --help lists the options)\n`);
  return EXIT_USAGE;
}

async function service(positionals: string[], str: (k: string) => string | undefined, env: Env): Promise<number> {
  const [name, extra] = positionals;
  if (!name) throw new UsageFailure(`service needs a name: ${SERVICE_NAMES.join(", ")}`);
  if (!SERVICE_NAMES.includes(name as ServiceName)) throw new UsageFailure(`unknown service "${name}": one of ${SERVICE_NAMES.join(", ")}`);
  if (extra !== undefined) throw new UsageFailure(`unexpected argument "${extra}"`);
  const flags = {
    ...(str("redis") !== undefined ? { redis: str("redis") } : {}),
    ...(str("nats") !== undefined ? { nats: str("nats") } : {}),
    ...(str("s3") !== undefined ? { s3: str("s3") } : {}),
    ...(str("metrics-port") !== undefined ? { metricsPort: str("metrics-port") } : {}),
    ...(str("port") !== undefined ? { port: str("port") } : {}),
    ...(str("log-level") !== undefined ? { logLevel: str("log-level") } : {}),
  };
  if (flags.port !== undefined && name !== "peer-worker") throw new UsageFailure("--port is an option of the peer-worker service");
  // Signals are heard from the start: one that comes while the process still connects or waits
  // as a standby finds nothing to drain, and ends it at once with status 0.
  let signalled: ((sig: NodeJS.Signals) => void) | undefined;
  let early: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => (signalled ? signalled(sig) : ((early = sig), process.exit(0)));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  const running = await startServiceProcess(name as ServiceName, flags, env);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    if (early) resolve(early);
    signalled = resolve;
  });
  // A second signal while draining leaves at once.
  const hard = () => process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  process.once("SIGTERM", hard);
  process.once("SIGINT", hard);
  await running.stop();
  return 0;
}

/**
 * Runs `fn` with the job queue of the cluster at `--redis` / SHOAL_REDIS_URL, closed after. A
 * Redis that does not answer is named with its address and the cause (refused, unknown host).
 */
async function withQueue<T>(str: (k: string) => string | undefined, env: Env, fn: (queue: BullJobQueue) => Promise<T>): Promise<T> {
  const redisUrl = redisUrlFrom(str("redis"), env);
  const queue = new BullJobQueue({ config: { redisUrl, operationTimeoutMs: 5_000 }, logger: silentLogger() });
  try {
    return await fn(queue);
  } catch (err) {
    throw await redisUnreachable(redisUrl, err);
  } finally {
    await queue.close();
  }
}

async function submit(
  positionals: string[],
  values: Record<string, string | boolean | string[] | undefined>,
  str: (k: string) => string | undefined,
  env: Env,
): Promise<number> {
  const [source, extra] = positionals;
  if (!source) throw new UsageFailure("submit needs a .torrent file or URL");
  if (extra !== undefined) throw new UsageFailure(`unexpected argument "${extra}"`);
  const to = str("to");
  if (!to) throw new UsageFailure("--to s3://BUCKET/PREFIX is required");
  const destination = parseDestination(to);
  const select = str("select") === undefined ? undefined : wrapUsage("--select", () => parseFileSelection(str("select")!));
  const seed = seedOf(str("seed-ratio"), str("seed-time"));
  const maxDown = str("max-download-rate") === undefined ? 0 : wrapUsage("--max-download-rate", () => parseRate(str("max-download-rate")!));
  const maxUp = str("max-upload-rate") === undefined ? 0 : wrapUsage("--max-upload-rate", () => parseRate(str("max-upload-rate")!));
  const webSeeds = wrapUsage("--web-seed", () => webSeedChoice(values["no-web-seeds"] === true, values["web-seed"] as string[] | undefined));
  const torrentSource = await torrentSourceOf(source);
  if (torrentSource.kind === "torrent") {
    // Bad input is refused here, before anything is queued.
    const bytes = Buffer.from(torrentSource.base64, "base64");
    let meta;
    try {
      meta = parseMetainfo(bytes);
    } catch (err) {
      throw new CliError(`${source}: ${(err as Error).message}`, EXIT_USAGE);
    }
    if (select) {
      try {
        selectFiles(meta, select);
      } catch (err) {
        throw new CliError(`file selection: ${(err as Error).message}`, EXIT_USAGE);
      }
    }
  }
  if (destination.kind === "s3") {
    const conn = s3ConnectionFrom(str("s3"), env, false);
    if (conn) await checkBucket(conn, destination.bucket);
  }
  const data: TorrentJobData = {
    source: torrentSource,
    destination: formatDestination(destination),
    options: {
      ...(select ? { selectFiles: select } : {}),
      ...(seed ? { seed } : {}),
      ...(maxDown > 0 ? { maxDownloadBytesPerSec: maxDown } : {}),
      ...(maxUp > 0 ? { maxUploadBytesPerSec: maxUp } : {}),
      ...(webSeeds ? { webSeeds } : {}),
    },
  };
  const json = values["json"] === true;
  return withQueue(str, env, async (queue) => {
    const jobId = await queue.add(data, str("job-id") !== undefined ? { jobId: str("job-id")! } : {});
    if (values["wait"] !== true) {
      process.stdout.write(json ? `${JSON.stringify({ event: "queued", jobId, destination: data.destination })}\n` : `${jobId}\n`);
      return 0;
    }
    return follow(queue, jobId, source, data.destination, json ? "json" : values["quiet"] === true ? "quiet" : process.stderr.isTTY ? "tty" : "plain");
  });
}

/** Follows a job to its end like `get` shows a download: exit 0 complete, 1 failed, 2 bad input. */
async function follow(queue: JobQueue, jobId: string, source: string, destination: string, mode: ProgressMode): Promise<number> {
  const reporter = new ProgressReporter(mode, mode === "json" ? process.stdout : process.stderr);
  reporter.event("queued", { jobId, destination });
  if (mode !== "json") process.stdout.write(`${jobId}\n`);
  const off = queue.on({ progress: (id, p) => id === jobId && reporter.progress(p) });
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    reporter.message(`stopped following job ${jobId}; it goes on in the cluster (shoal cancel ${jobId} stops it)`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  try {
    const result = await queue.waitUntilFinished(jobId);
    reporter.event("completed", { jobId, ...result });
    reporter.message(`done: ${result.name} (${formatBytes(result.totalBytes)}, ${result.files.length} file(s)) verified in ${destination}`);
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    const message = err instanceof Error ? err.message : String(err);
    reporter.event("failed", { jobId, error: isShoalError(err) ? err.toJSON() : { message } });
    // Problems inside the .torrent name where it came from: the cluster read it, not this command.
    const where = isShoalError(err) && TORRENT_ERRORS.includes(err.name) ? `${source}: ` : "";
    process.stderr.write(`shoal: job ${jobId} failed: ${where}${message}\n`);
    return isBadInput(err) ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    off();
    process.off("SIGINT", onSignal);
  }
}

/** Failures that come from what was submitted rather than from the swarm or the cluster. */
function isBadInput(err: unknown): boolean {
  if (!isShoalError(err)) return /does not exist|not a \.torrent|bencod/i.test(err instanceof Error ? err.message : "");
  return (
    TORRENT_ERRORS.includes(err.name) ||
    ["NO_TRACKERS", "BAD_SELECTION"].includes(err.code) ||
    /bucket .* does not exist|NoSuchBucket/i.test(err.message)
  );
}

async function status(positionals: string[], json: boolean, str: (k: string) => string | undefined, env: Env): Promise<number> {
  const [jobId, extra] = positionals;
  if (extra !== undefined) throw new UsageFailure(`unexpected argument "${extra}"`);
  return withQueue(str, env, async (queue) => {
    if (jobId === undefined) {
      const jobs = await queue.list({ limit: 50 });
      if (json) process.stdout.write(`${JSON.stringify(jobs.map(publicInfo))}\n`);
      else process.stdout.write(jobs.length === 0 ? "no jobs\n" : `${jobs.map(jobLine).join("\n")}\n`);
      return 0;
    }
    const job = await queue.get(jobId);
    if (!job) throw new CliError(`no job ${jobId} in the queue`, EXIT_USAGE);
    process.stdout.write(json ? `${JSON.stringify(publicInfo(job))}\n` : jobDetails(job));
    return 0;
  });
}

async function cancel(positionals: string[], str: (k: string) => string | undefined, env: Env): Promise<number> {
  const [jobId, extra] = positionals;
  if (!jobId) throw new UsageFailure("cancel needs a job id (shoal status lists them)");
  if (extra !== undefined) throw new UsageFailure(`unexpected argument "${extra}"`);
  return withQueue(str, env, async (queue) => {
    const job = await queue.get(jobId);
    if (!job) throw new CliError(`no job ${jobId} in the queue`, EXIT_USAGE);
    if (job.state === "completed" || job.state === "failed") {
      process.stdout.write(`job ${jobId} already ${job.state}; nothing to cancel\n`);
      return 0;
    }
    await queue.cancel(jobId);
    process.stdout.write(`job ${jobId} cancelled\n`);
    return 0;
  });
}

/** A job without its torrent bytes (base64 of a whole .torrent is no status). */
function publicInfo(job: JobInfo): Record<string, unknown> {
  const source = job.data.source.kind === "url" ? { kind: "url", url: job.data.source.url } : { kind: "torrent" };
  return { ...job, data: { ...job.data, source } };
}

function percent(p: JobProgress | undefined): string {
  if (!p) return "--";
  return `${(p.totalBytes > 0 ? (100 * p.storedBytes) / p.totalBytes : 100).toFixed(1)}%`;
}

function eta(p: JobProgress | undefined): string {
  if (!p || p.downloadRateBytesPerSec <= 0) return "--";
  return formatDuration((p.totalBytes - p.storedBytes) / p.downloadRateBytesPerSec);
}

function jobLine(job: JobInfo): string {
  const p = job.progress;
  const name = p?.name ?? job.result?.name ?? "(metadata not read yet)";
  const rate = p && job.state === "active" ? `${formatBytes(p.downloadRateBytesPerSec)}/s ETA ${eta(p)}` : "";
  return [job.id, job.state.padEnd(9), percent(job.state === "completed" ? undefined : p).padStart(6), name, rate, job.failedReason ? `(${job.failedReason})` : ""]
    .filter((s) => s !== "")
    .join("  ");
}

function jobDetails(job: JobInfo): string {
  const p = job.progress;
  const lines = [
    `job ${job.id}: ${job.state}${job.failedReason ? ` (${job.failedReason})` : ""}`,
    `destination: ${job.data.destination}`,
  ];
  if (p) {
    lines.push(`torrent: ${p.name} (${p.infoHash})`);
    lines.push(`progress: ${percent(p)} ${formatBytes(p.storedBytes)}/${formatBytes(p.totalBytes)}, pieces ${p.storedPieces}/${p.pieces}`);
    if (p.pieceStates) {
      const s = p.pieceStates;
      lines.push(`pieces by state: missing ${s.missing}, claimed ${s.claimed}, staged ${s.staged}, verified ${s.verified}, stored ${s.stored}, skipped ${s.skipped}`);
    }
    lines.push(`rate: ${formatBytes(p.downloadRateBytesPerSec)}/s down, ${formatBytes(p.uploadRateBytesPerSec)}/s up, ETA ${eta(p)}, peers ${p.peers}`);
    const workers = p.workers ?? [];
    lines.push(`workers: ${workers.length}`);
    for (const w of workers) {
      lines.push(
        `  ${w.workerId}${w.live ? "" : " (silent)"}: downloaded ${formatBytes(w.downloadedBytes)}, uploaded ${formatBytes(w.uploadedBytes)}, ` +
          `${formatBytes(w.downloadRateBytesPerSec)}/s, peers ${w.peers}`,
      );
    }
  }
  if (job.result) lines.push(`result: ${job.result.files.length} file(s), ${formatBytes(job.result.totalBytes)}`);
  return `${lines.join("\n")}\n`;
}

function wrapUsage<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageFailure(`${name}: ${(err as Error).message}`);
  }
}

function seedOf(ratio: string | undefined, time: string | undefined): { ratio?: number; seconds?: number } | undefined {
  if (ratio === undefined && time === undefined) return undefined;
  const r = ratio === undefined ? undefined : Number(ratio);
  if (r !== undefined && (!Number.isFinite(r) || r < 0 || ratio!.trim() === "")) throw new UsageFailure(`--seed-ratio must be a number of 0 or more, got "${ratio}"`);
  const s = time === undefined ? undefined : Number(time);
  if (s !== undefined && (!Number.isFinite(s) || s < 0 || time!.trim() === "")) throw new UsageFailure(`--seed-time must be a number of seconds, 0 or more, got "${time}"`);
  return { ...(r !== undefined ? { ratio: r } : {}), ...(s !== undefined ? { seconds: s } : {}) };
}

