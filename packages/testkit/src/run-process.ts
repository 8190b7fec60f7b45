import { setTimeout as delay } from "node:timers/promises";
import { killGroup, spawnTracked } from "./child-registry.js";
import { requireExecutable } from "./executables.js";
import { TestkitError } from "./testkit-error.js";

export interface RunProcessOptions {
  /** The process group gets SIGTERM at the deadline and SIGKILL `killGraceMs` later. */
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Each stream keeps at most its last this many bytes (a runaway child must not fill memory). */
  readonly maxOutputBytes?: number;
  readonly killGraceMs?: number;
  /** Throw EARLY_EXIT (non-zero status) or TIMEOUT instead of returning the result. */
  readonly check?: boolean;
}

export interface RunProcessResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/** 16 MiB holds any CLI's JSON output and log while bounding memory. */
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 3_000;

/**
 * Runs a command to completion in its own process group with a deadline, capturing its output.
 * Anything the command leaves running in its group is killed once it exits.
 */
export async function runProcess(
  command: string,
  args: readonly string[],
  opts: RunProcessOptions,
): Promise<RunProcessResult> {
  const resolved = requireExecutable(command);
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const started = Date.now();
  const child = spawnTracked(resolved, args, {
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  const out = new TailBuffer(max);
  const err = new TailBuffer(max);
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  if (opts.input !== undefined) child.stdin?.end(opts.input);

  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
  });
  let timedOut = false;
  const timer = new AbortController();
  void delay(opts.timeoutMs, undefined, { signal: timer.signal })
    .then(async () => {
      if (child.pid === undefined) return;
      timedOut = true;
      killGroup(child.pid, "SIGTERM");
      await delay(opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS, undefined, { signal: timer.signal });
      killGroup(child.pid, "SIGKILL");
    })
    .catch(() => undefined);
  const end = await closed;
  timer.abort();

  const result: RunProcessResult = {
    exitCode: end.code,
    signal: end.signal,
    stdout: out.text(),
    stderr: err.text(),
    timedOut,
    durationMs: Date.now() - started,
  };
  if (end.error !== undefined) {
    throw new TestkitError("EARLY_EXIT", `cannot run ${command}: ${end.error.message}`, { cause: end.error });
  }
  if (opts.check === true) {
    const shown = `${command} ${args.join(" ")}`;
    if (timedOut) {
      throw new TestkitError("TIMEOUT", `${shown} did not finish in ${opts.timeoutMs} ms; stderr:\n${tail(result.stderr)}`, {
        context: { command, timeoutMs: opts.timeoutMs },
      });
    }
    if (end.code !== 0) {
      const how = end.signal === null ? `exit code ${end.code}` : `signal ${end.signal}`;
      throw new TestkitError("EARLY_EXIT", `${shown} failed with ${how}; stderr:\n${tail(result.stderr || result.stdout)}`, {
        context: { command, exitCode: end.code },
      });
    }
  }
  return result;
}

function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-20).join("\n");
}

/** Keeps the last `max` bytes pushed into it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}

  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString("utf8");
  }
}
