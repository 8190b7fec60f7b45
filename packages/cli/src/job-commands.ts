/**
 * The cluster's job commands: submit (and following the job like get), status and cancel, each
 * against the job queue in Redis.
 */
import type { JobQueue } from "@shoal/coordination";
import { isShoalError } from "@shoal/errors";
import type { BullJobQueue } from "@shoal/queue-bullmq";
import { cancelJob, prepareSubmission, redisUnreachable, redisUrlFrom, submitProblemOf, torrentSourceOf, webSeedChoice } from "@shoal/runtime/commands";
import { silentLogger } from "@shoal/service-kit";
import { CliError, UsageFailure } from "./cli-error.js";
import { formatBytes, ProgressReporter, type ProgressMode } from "./progress.js";
import { statusJson } from "./status-json.js";
import { jobDetails, jobLine } from "./status-text.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Errors about the content of a .torrent: bad input. */
const TORRENT_ERRORS = ["DecodeError", "MetainfoError"];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Runs `fn` with the job queue of the cluster at `--redis` / SHOAL_REDIS_URL, closed after. A
 * Redis that does not answer is named with its address and the cause (refused, unknown host).
 */
async function withQueue<T>(str: (k: string) => string | undefined, env: Env, fn: (queue: BullJobQueue) => Promise<T>): Promise<T> {
  const redisUrl = redisUrlFrom(str("redis"), env);
  // Loaded here, once the command line (and a submission) is checked: BullMQ and its Redis
  // client are a fifth of a second to load, which a refused command need not wait for.
  const { BullJobQueue } = await import("@shoal/queue-bullmq");
  const queue = new BullJobQueue({ config: { redisUrl, operationTimeoutMs: 5_000 }, logger: silentLogger() });
  try {
    return await fn(queue);
  } catch (err) {
    throw await redisUnreachable(redisUrl, err);
  } finally {
    await queue.close();
  }
}

/** `shoal submit`: queues the job and prints its id, or with --wait follows it to its end. */
export async function submitCommand(
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

/** `shoal status [JOB]`: the newest jobs, or one job's details. */
export async function statusCommand(positionals: string[], json: boolean, str: (k: string) => string | undefined, env: Env): Promise<number> {
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

/** `shoal cancel JOB`. */
export async function cancelCommand(positionals: string[], str: (k: string) => string | undefined, env: Env): Promise<number> {
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

/** `--web-seed URL` (repeatable) and `--no-web-seeds`, as `get` reads them. */
function webSeedOption(values: Record<string, string | boolean | string[] | undefined>) {
  try {
    return webSeedChoice(values["no-web-seeds"] === true, values["web-seed"] as string[] | undefined);
  } catch (err) {
    throw new UsageFailure(`--web-seed: ${(err as Error).message}`);
  }
}
