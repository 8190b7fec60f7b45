import { parseArgs } from "node:util";
import type { JobInfo, JobProgress, JobQueue } from "@shoal/coordination";
import { isShoalError } from "@shoal/errors";
import { BullJobQueue } from "@shoal/queue-bullmq";
import {
  cancelJob,
  describeStartFailure,
  prepareSubmission,
  redisUnreachable,
  redisUrlFrom,
  SERVICE_NAMES,
  startServiceProcess,
  submitProblemOf,
  torrentSourceOf,
  type ServiceName,
  webSeedChoice,
} from "@shoal/runtime";
import { ConfigError, silentLogger } from "@shoal/service-kit";
import { CliError } from "./cli-error.js";
import { formatBytes, formatDuration, ProgressReporter, type ProgressMode } from "./progress.js";
import { statusJson } from "./status-json.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Errors about the content of a .torrent: bad input. */
const TORRENT_ERRORS = ["DecodeError", "MetainfoError"];

export const CLUSTER_COMMANDS = ["service", "submit", "status", "cancel", "dashboard"] as const;

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
  shoal dashboard [--port N] [--host ADDR]
      Serves a live web page of the cluster (its URL is printed): jobs with state, progress,
      rate and ETA, each running job's piece map coloured by state and by the worker holding
      each claim, the workers' rates and peers, a form that submits as "shoal submit" does and
      a cancel button per running job. Runs until SIGTERM or Ctrl-C.

options of the cluster commands (each flag falls back to its environment variable):
      --redis URL             redis://host:port (SHOAL_REDIS_URL)
      --nats URL              nats://host:port, the server with JetStream (SHOAL_NATS_URL)
      --s3 URL                S3 endpoint, path-style (SHOAL_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3,
                              else AWS_ENDPOINT_URL); credentials from AWS_ACCESS_KEY_ID,
                              AWS_SECRET_ACCESS_KEY and AWS_REGION (default us-east-1)
      --metrics-port N        service: /metrics and /healthz on this port (SHOAL_METRICS_PORT;
                              default 9464, 0 = a free port)
  -p, --port N                peer-worker: port for incoming peers (SHOAL_PEER_WORKER_PORT;
                              a busy port falls back to a free one); dashboard: port of the
                              page (SHOAL_DASHBOARD_PORT; default 8080, 0 = a free port)
      --host ADDR             dashboard: address to listen on (SHOAL_DASHBOARD_HOST; default
                              127.0.0.1: the page can submit and cancel jobs and has no login)
      --encryption POLICY     peer-worker, tracker-poller: prefer, require or disable protocol
                              encryption (MSE/PE) with peers, for pieces and for a magnet
                              link's metadata (SHOAL_ENCRYPTION; default prefer)
      --select LIST           submit: download only these files (as for get)
      --seed-ratio X, --seed-time SECONDS   submit: seed after completion (as for get)
      --max-download-rate R, --max-upload-rate R   submit: rate limits of the whole job, shared
                              equally by the peer-workers on it (500K, 4M, 1G; 0 = unlimited)
      --web-seed URL          submit: also fetch from this HTTP mirror (repeatable; as for get)
      --no-web-seeds          submit: do not use the torrent's own web seeds (url-list)
      --no-dht                submit: this job finds peers without the DHT; tracker-poller:
                              no DHT node at all (SHOAL_DHT=off)
      --dht-bootstrap LIST    tracker-poller: join the DHT through host:port[,host:port...]
                              instead of the public routers (SHOAL_DHT_BOOTSTRAP)
      --dht-port N            tracker-poller: UDP port of the DHT node (SHOAL_DHT_PORT;
                              default 6881, a busy port falls back to a free one; 0 = any)
      --job-id ID             submit: name the job (a second submit with the same id is the same job)
      --log-level L           service, dashboard: log level (debug, info, warn; default info)
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
        encryption: { type: "string" },
        "log-level": { type: "string" },
        host: { type: "string" },
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
        "dht-bootstrap": { type: "string" },
        "dht-port": { type: "string" },
        "no-dht": { type: "boolean" },
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
        return await service(positionals, str, env, values["no-dht"] === true);
      case "submit":
        return await submit(positionals, values, str, env);
      case "status":
        return await status(positionals, values["json"] === true, str, env);
      case "cancel":
        return await cancel(positionals, str, env);
      case "dashboard":
        if (positionals[0] !== undefined) throw new UsageFailure(`unexpected argument "${positionals[0]}"`);
        // Loaded only for this command: the other commands start without the dashboard's modules.
        return await (await import("./dashboard-command.js")).dashboardCommand(
          { redis: str("redis"), nats: str("nats"), s3: str("s3"), port: str("port"), host: str("host"), logLevel: str("log-level") },
          env,
        );
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

async function service(positionals: string[], str: (k: string) => string | undefined, env: Env, noDht: boolean): Promise<number> {
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
    ...(str("encryption") !== undefined ? { encryption: str("encryption") } : {}),
    ...(str("log-level") !== undefined ? { logLevel: str("log-level") } : {}),
    ...(str("dht-bootstrap") !== undefined ? { dhtBootstrap: str("dht-bootstrap") } : {}),
    ...(str("dht-port") !== undefined ? { dhtPort: str("dht-port") } : {}),
    ...(noDht ? { noDht } : {}),
  };
  if ((flags.dhtBootstrap !== undefined || flags.dhtPort !== undefined || noDht) && name !== "tracker-poller") {
    throw new UsageFailure("--dht-bootstrap, --dht-port and --no-dht are options of the tracker-poller service");
  }
  if (flags.port !== undefined && name !== "peer-worker") throw new UsageFailure("--port is an option of the peer-worker service");
  if (str("host") !== undefined) throw new UsageFailure("--host is an option of shoal dashboard");
  if (flags.encryption !== undefined && name !== "peer-worker" && name !== "tracker-poller") {
    throw new UsageFailure("--encryption is an option of the peer-worker and tracker-poller services");
  }
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
  if (!str("to")) throw new UsageFailure("--to s3://BUCKET/PREFIX is required");
  if (str("dht-bootstrap") !== undefined || str("dht-port") !== undefined) {
    throw new UsageFailure("--dht-bootstrap and --dht-port are options of the tracker-poller service (a job takes --no-dht)");
  }
  // The checks are the dashboard's too (`prepareSubmission`): one submission, one set of rules.
  let prepared;
  try {
    prepared = await prepareSubmission(
      {
        source: await torrentSourceOf(source),
        sourceLabel: source,
        to: str("to"),
        select: str("select"),
        seedRatio: str("seed-ratio"),
        seedTime: str("seed-time"),
        maxDownloadRate: str("max-download-rate"),
        maxUploadRate: str("max-upload-rate"),
        jobId: str("job-id"),
        webSeeds: webSeedOption(values),
        ...(values["no-dht"] === true ? { dht: false } : {}),
      },
      str("s3"),
      env,
    );
  } catch (err) {
    if (submitProblemOf(err) === "option") throw new UsageFailure((err as Error).message);
    throw err;
  }
  const { data } = prepared;
  const json = values["json"] === true;
  return withQueue(str, env, async (queue) => {
    const jobId = await queue.add(data, prepared.jobId !== undefined ? { jobId: prepared.jobId } : {});
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
      if (json) process.stdout.write(`${JSON.stringify(jobs.map(statusJson))}\n`);
      else process.stdout.write(jobs.length === 0 ? "no jobs\n" : `${jobs.map(jobLine).join("\n")}\n`);
      return 0;
    }
    const job = await queue.get(jobId);
    if (!job) throw new CliError(`no job ${jobId} in the queue`, EXIT_USAGE);
    process.stdout.write(json ? `${JSON.stringify(statusJson(job))}\n` : jobDetails(job));
    return 0;
  });
}

async function cancel(positionals: string[], str: (k: string) => string | undefined, env: Env): Promise<number> {
  const [jobId, extra] = positionals;
  if (!jobId) throw new UsageFailure("cancel needs a job id (shoal status lists them)");
  if (extra !== undefined) throw new UsageFailure(`unexpected argument "${extra}"`);
  return withQueue(str, env, async (queue) => {
    // The dashboard's cancel button does the same (`cancelJob`).
    const outcome = await cancelJob(queue, jobId);
    if (outcome.kind === "unknown") throw new CliError(outcome.message, EXIT_USAGE);
    process.stdout.write(`${outcome.message}\n`);
    return 0;
  });
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

/** `--web-seed URL` (repeatable) and `--no-web-seeds`, as `get` reads them. */
function webSeedOption(values: Record<string, string | boolean | string[] | undefined>) {
  try {
    return webSeedChoice(values["no-web-seeds"] === true, values["web-seed"] as string[] | undefined);
  } catch (err) {
    throw new UsageFailure(`--web-seed: ${(err as Error).message}`);
  }
}
