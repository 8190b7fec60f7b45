import { SYSTEM_PYTHON, requirePythonLibtorrent } from "./executables.js";
import { pyScript } from "./package-root.js";
import { runProcess } from "./run-process.js";
import { TestkitError } from "./testkit-error.js";

export interface LeechOptions {
  readonly torrentPath: string;
  /** Download directory; the payload lands in outDir/<torrent name>. */
  readonly outDir: string;
  /** Peers ("ip:port") to dial directly. */
  readonly peers?: readonly string[];
  /** Do not announce: talk only to `peers`. */
  readonly noTrackers?: boolean;
  /** Listen address; default 127.0.0.1 on a port the kernel picks. */
  readonly ip?: string;
  readonly timeoutMs?: number;
  /**
   * "complete" (default); "hash-failure": stop at the first piece that fails its hash;
   * "every-piece-tried": stop once each piece is downloaded or has failed its hash once.
   * libtorrent bans a peer at once when it alone sent a failed piece, so with a single
   * corrupting peer only "hash-failure" ends early and reliably.
   */
  readonly until?: "complete" | "hash-failure" | "every-piece-tried";
  /** Protocol encryption (MSE/PE): "forced" (RC4 only, in and out) or "disabled"; default: dials plaintext, accepts both. */
  readonly encryption?: "forced" | "disabled";
}

export interface LeechReport {
  readonly complete: boolean;
  readonly seconds: number;
  readonly downloaded: number;
  readonly failedBytes: number;
  readonly hashFailedPieces: readonly number[];
  readonly havePieces: number;
  readonly numPieces: number;
  readonly maxPeers: number;
  readonly errors: readonly string[];
  readonly timedOut: boolean;
}

/** A plain test download fits in seconds; the default leaves room for a slow seed. */
const DEFAULT_LEECH_TIMEOUT_MS = 60_000;
/** Extra time for the helper's start-up and shutdown beyond its own download deadline. */
const PROCESS_SLACK_MS = 15_000;

/** Downloads a torrent with python-libtorrent (py/leech.py) and reports what happened. */
export async function runLibtorrentLeech(opts: LeechOptions): Promise<LeechReport> {
  await requirePythonLibtorrent();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LEECH_TIMEOUT_MS;
  const args = [
    pyScript("leech.py"),
    "--torrent",
    opts.torrentPath,
    "--out",
    opts.outDir,
    "--ip",
    opts.ip ?? "127.0.0.1",
    "--timeout",
    String(timeoutMs / 1000),
    "--until",
    opts.until ?? "complete",
    ...(opts.noTrackers === true ? ["--no-trackers"] : []),
    ...(opts.peers ?? []).flatMap((p) => ["--peer", p]),
    ...(opts.encryption ? ["--encryption", opts.encryption] : []),
  ];
  const res = await runProcess(SYSTEM_PYTHON, args, { timeoutMs: timeoutMs + PROCESS_SLACK_MS });
  const line = res.stdout.trim().split("\n").pop() ?? "";
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new TestkitError(
      "EARLY_EXIT",
      `leech.py exited with ${res.exitCode ?? res.signal} without a report; stderr:\n${res.stderr.trim().split("\n").slice(-20).join("\n")}`,
      { context: { torrentPath: opts.torrentPath } },
    );
  }
  return {
    complete: raw["complete"] === true,
    seconds: Number(raw["seconds"]),
    downloaded: Number(raw["downloaded"]),
    failedBytes: Number(raw["failed_bytes"]),
    hashFailedPieces: raw["hash_failed_pieces"] as number[],
    havePieces: Number(raw["have_pieces"]),
    numPieces: Number(raw["num_pieces"]),
    maxPeers: Number(raw["max_peers"]),
    errors: raw["errors"] as string[],
    timedOut: raw["timed_out"] === true,
  };
}
