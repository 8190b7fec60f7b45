import type { JobQueue, TorrentJobData, TorrentSource } from "@shoal/coordination";
import { parseMetainfo, selectFiles } from "@shoal/metainfo";
import { ConfigError } from "@shoal/service-kit";
import { checkBucket } from "./bucket-check.js";
import { formatDestination, parseDestination } from "./destination.js";
import { parseFileSelection, parseRate, type WebSeedChoice } from "./option-values.js";
import { s3ConnectionFrom } from "./s3-connection.js";

/**
 * A submission as a person gives it, on the command line (`shoal submit`) or in the dashboard's
 * form: option values are the text typed (undefined when not given), checked here so both refuse the same input with the
 * same one-line message.
 */
export interface SubmitRequest {
  /** The torrent, read already: a .torrent's bytes (base64) or an http(s) URL the cluster fetches. */
  readonly source: TorrentSource;
  /** What the user called the torrent (a path, an uploaded file's name, the URL): errors name it. */
  readonly sourceLabel: string;
  /** `s3://BUCKET/PREFIX` (or a directory a cluster's writers share). */
  readonly to: string | undefined;
  /** File indices as `shoal info` numbers them (`0,3-5`). */
  readonly select?: string | undefined;
  readonly seedRatio?: string | undefined;
  readonly seedTime?: string | undefined;
  /** Bytes per second with an optional binary suffix (`500K`, `4M`); 0 = unlimited. */
  readonly maxDownloadRate?: string | undefined;
  readonly maxUploadRate?: string | undefined;
  /** Names the job (a second submit with the same id is the same job). */
  readonly jobId?: string | undefined;
  /** BEP 19 web seeds: the torrent's, extra ones, or none (`webSeedChoice` reads the options). */
  readonly webSeeds?: WebSeedChoice | undefined;
  /** false: the job finds peers without the DHT (`--no-dht`). */
  readonly dht?: boolean | undefined;
}

export interface PreparedSubmission {
  readonly data: TorrentJobData;
  readonly jobId: string | undefined;
}

/**
 * Where a refused submission went wrong: `option` for the syntax of what was typed (the CLI
 * points at its help then), `input` for a torrent, a selection or a destination that cannot be
 * used. Carried in the ConfigError's context as `problem`.
 */
export type SubmitProblem = "option" | "input";

/** The problem kind of an error `prepareSubmission` threw; undefined for any other error. */
export function submitProblemOf(err: unknown): SubmitProblem | undefined {
  if (!(err instanceof ConfigError)) return undefined;
  const p = err.context["problem"];
  return p === "option" || p === "input" ? p : undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Checks a submission and builds the job's data, without queueing it: every option's syntax,
 * the destination, the torrent itself when its bytes are given (a URL is fetched by the cluster),
 * the file selection against the torrent, and a bucket destination (one LIST, `checkBucket`)
 * when an S3 endpoint is set (`s3Flag`, else the environment). Throws a ConfigError with one
 * line naming the problem; its context's `problem` tells option syntax from unusable input.
 */
export async function prepareSubmission(req: SubmitRequest, s3Flag: string | undefined, env: Env): Promise<PreparedSubmission> {
  const to = req.to;
  if (!to) throw refused("option", "--to s3://BUCKET/PREFIX is required");
  const destination = parseDestination(to);
  const select = blank(req.select) ? undefined : option("--select", () => parseFileSelection(req.select!));
  const seed = seedOf(req.seedRatio, req.seedTime);
  const maxDown = blank(req.maxDownloadRate) ? 0 : option("--max-download-rate", () => parseRate(req.maxDownloadRate!));
  const maxUp = blank(req.maxUploadRate) ? 0 : option("--max-upload-rate", () => parseRate(req.maxUploadRate!));
  const jobId = req.jobId;
  if (req.source.kind === "torrent") {
    // Bad input is refused here, before anything is queued.
    const bytes = Buffer.from(req.source.base64, "base64");
    let meta;
    try {
      meta = parseMetainfo(bytes);
    } catch (err) {
      throw refused("input", `${req.sourceLabel}: ${(err as Error).message}`);
    }
    if (select) {
      try {
        selectFiles(meta, select);
      } catch (err) {
        throw refused("input", `file selection: ${(err as Error).message}`);
      }
    }
  }
  if (destination.kind === "s3") {
    const conn = s3ConnectionFrom(s3Flag, env, false);
    if (conn) await checkBucket(conn, destination.bucket);
  }
  const data: TorrentJobData = {
    source: req.source,
    destination: formatDestination(destination),
    options: {
      ...(select ? { selectFiles: select } : {}),
      ...(seed ? { seed } : {}),
      ...(maxDown > 0 ? { maxDownloadBytesPerSec: maxDown } : {}),
      ...(maxUp > 0 ? { maxUploadBytesPerSec: maxUp } : {}),
      ...(req.webSeeds ? { webSeeds: req.webSeeds } : {}),
      ...(req.dht === false ? { dht: false } : {}),
    },
  };
  return { data, jobId };
}

/** `prepareSubmission`, then queues the job; resolves with its id and canonical destination. */
export async function submitJob(queue: JobQueue, req: SubmitRequest, s3Flag: string | undefined, env: Env): Promise<{ jobId: string; destination: string }> {
  const { data, jobId } = await prepareSubmission(req, s3Flag, env);
  const id = await queue.add(data, jobId !== undefined ? { jobId } : {});
  return { jobId: id, destination: data.destination };
}

/** Only an option not given is absent: an empty value is a mistake worth naming. */
function blank(v: string | undefined): v is undefined {
  return v === undefined;
}

function refused(problem: SubmitProblem, message: string): ConfigError {
  return new ConfigError("INVALID_CONFIG", message, { context: { problem } });
}

function option<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw refused("option", `${name}: ${(err as Error).message}`);
  }
}

function seedOf(ratio: string | undefined, time: string | undefined): { ratio?: number; seconds?: number } | undefined {
  if (blank(ratio) && blank(time)) return undefined;
  const r = blank(ratio) ? undefined : Number(ratio);
  if (r !== undefined && (!Number.isFinite(r) || r < 0 || ratio!.trim() === "")) throw refused("option", `--seed-ratio must be a number of 0 or more, got "${ratio}"`);
  const s = blank(time) ? undefined : Number(time);
  if (s !== undefined && (!Number.isFinite(s) || s < 0 || time!.trim() === "")) throw refused("option", `--seed-time must be a number of seconds, 0 or more, got "${time}"`);
  return { ...(r !== undefined ? { ratio: r } : {}), ...(s !== undefined ? { seconds: s } : {}) };
}
