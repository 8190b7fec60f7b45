// One timed download: the client runs under GNU time (peak RSS, CPU time) with a deadline,
// and afterwards every file of the payload is checked against its sha256.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { sha256File, startProcess } from "../../packages/testkit/dist/index.js";

/** A client that ignores SIGTERM this long after its deadline gets SIGKILL. */
const STOP_GRACE_MS = 5_000;

/**
 * Runs `command args` under `/usr/bin/time -v` and resolves once it has exited:
 * `{ exitCode, signal, timedOut, aborted, seconds, userS, sysS, maxRssKiB }`. `seconds` is GNU time's
 * wall clock of the client alone (from its fork to its exit), so the harness's own start-up
 * is not counted. `env`, when given, is the client's whole environment (default: ours). When
 * `signal` aborts, the client is stopped as at its deadline and `aborted` carries the reason.
 */
export async function runTimed({ name, command, args, cwd, env, logPath, timeoutMs, signal, onCleanup }) {
  const timeFile = `${logPath}.time`;
  const started = performance.now();
  const proc = startProcess({
    name,
    command: "/usr/bin/time",
    args: ["-v", "-o", timeFile, "--", command, ...args],
    cwd,
    ...(env === undefined ? {} : { env }),
    logPath,
  });
  const undo = onCleanup(() => proc.stop(STOP_GRACE_MS));
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  let onAbort;
  const aborted = new Promise((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  const first = await Promise.race([proc.exited, deadline, aborted]);
  clearTimeout(timer);
  signal?.removeEventListener("abort", onAbort);
  const timedOut = first === "timeout";
  const status = timedOut || first === "aborted" ? await proc.stop(STOP_GRACE_MS) : first;
  const harnessSeconds = (performance.now() - started) / 1000;
  undo();

  const usage = parseTimeReport(await readFile(timeFile, "utf8").catch(() => ""));
  return {
    exitCode: status.code,
    signal: status.signal,
    startError: status.error,
    timedOut,
    aborted: first === "aborted" ? String(signal.reason?.message ?? signal.reason) : undefined,
    seconds: usage.wallSeconds ?? harnessSeconds,
    userS: usage.userS ?? NaN,
    sysS: usage.sysS ?? NaN,
    maxRssKiB: usage.maxRssKiB ?? NaN,
  };
}

/** Reads the fields the benchmark reports from `time -v` output. */
export function parseTimeReport(text) {
  const field = (label) => {
    const line = text.split("\n").find((l) => l.trim().startsWith(label));
    return line === undefined ? undefined : line.slice(line.lastIndexOf(": ") + 2).trim();
  };
  const num = (label) => {
    const v = field(label);
    return v === undefined || v === "" || Number.isNaN(Number(v)) ? undefined : Number(v);
  };
  return {
    userS: num("User time (seconds)"),
    sysS: num("System time (seconds)"),
    maxRssKiB: num("Maximum resident set size (kbytes)"),
    wallSeconds: parseClock(field("Elapsed (wall clock) time")),
  };
}

/** "1:02:03.45" or "2:03.45" -> seconds. */
function parseClock(text) {
  if (text === undefined || !/^[\d:.]+$/.test(text)) return undefined;
  return text.split(":").reduce((acc, part) => acc * 60 + Number(part), 0);
}

/**
 * Compares every payload file below `outDir` with the manifest (size, then sha256). Returns
 * undefined when all match, else a reason naming the first few bad files.
 */
export async function verifyDownload(outDir, files) {
  const bad = [];
  for (const f of files) {
    const path = join(outDir, f.path);
    let size;
    try {
      size = (await stat(path)).size;
    } catch {
      bad.push(`${f.path} missing`);
      continue;
    }
    if (size !== f.size) bad.push(`${f.path} has ${size} bytes, expected ${f.size}`);
    else if ((await sha256File(path)) !== f.sha256) bad.push(`${f.path} sha256 differs`);
  }
  if (bad.length === 0) return undefined;
  const shown = bad.slice(0, 3).join("; ");
  return bad.length > 3 ? `${bad.length} of ${files.length} files wrong: ${shown}; ...` : shown;
}
