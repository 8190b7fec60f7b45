import { closeSync, openSync, readSync, fstatSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { killGroup, spawnTracked } from "./child-registry.js";
import { requireExecutable } from "./executables.js";
import { TestkitError } from "./testkit-error.js";

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly error?: string;
}

export interface StartProcessOptions {
  /** Short label used in errors ("opentracker", "transmission-daemon 127.0.0.1:40123"). */
  readonly name: string;
  /** Program name (searched on PATH) or absolute path. */
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here, so a chatty child never blocks on a full pipe. */
  readonly logPath: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly runAsUser?: string;
  /** Run inside this network namespace (see `startNetnsLab`). */
  readonly netns?: string;
}

/** A long-running child with its output in a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** The exit status once exited, else undefined. */
  exitStatus(): ExitStatus | undefined;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** SIGKILL to the whole group at once, as a crash would. */
  kill9(): void;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string;
  /** Throws EARLY_EXIT (with the log tail) if the process has exited. */
  assertRunning(what: string): void;
}

/** Daemons flush state and send a 'stopped' announce on SIGTERM; longer than that means stuck. */
const DEFAULT_STOP_GRACE_MS = 5_000;
/** Enough of a log to hold the last error of any of the wrapped programs. */
const TAIL_BYTES = 8_192;
const DEFAULT_TAIL_LINES = 25;

export function startProcess(opts: StartProcessOptions): ManagedProcess {
  const command = requireExecutable(opts.command);
  const fd = openSync(opts.logPath, "a");
  let child;
  try {
    child = spawnTracked(command, opts.args, {
      stdio: ["ignore", fd, fd],
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      ...(opts.env === undefined ? {} : { env: opts.env }),
      ...(opts.runAsUser === undefined ? {} : { runAsUser: opts.runAsUser }),
      ...(opts.netns === undefined ? {} : { netns: opts.netns }),
    });
  } finally {
    closeSync(fd);
  }
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => resolve((status = { code, signal })));
    child.once("error", (err) => resolve((status = { code: null, signal: null, error: err.message })));
  });
  const pid = child.pid ?? -1;

  const logTail = (lines = DEFAULT_TAIL_LINES): string => tailOfFile(opts.logPath, lines);
  const describe = (s: ExitStatus): string =>
    s.error ?? (s.signal === null ? `exit code ${s.code}` : `signal ${s.signal}`);

  return {
    name: opts.name,
    pid,
    logPath: opts.logPath,
    exited,
    exitStatus: () => status,
    logTail,
    kill9: () => {
      if (pid > 0 && status === undefined) killGroup(pid, "SIGKILL");
    },
    async stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      if (status !== undefined || pid <= 0) return exited;
      killGroup(pid, "SIGTERM");
      const timer = new AbortController();
      const grace = delay(graceMs, undefined, { signal: timer.signal }).catch(() => undefined);
      const done = await Promise.race([exited, grace]);
      timer.abort();
      if (done !== undefined) return done;
      killGroup(pid, "SIGKILL");
      return exited;
    },
    assertRunning(what: string) {
      if (status === undefined) return;
      throw new TestkitError(
        "EARLY_EXIT",
        `${opts.name} (pid ${pid}) exited with ${describe(status)} while ${what}; log ${opts.logPath}:\n${logTail()}`,
        { context: { name: opts.name, pid, logPath: opts.logPath } },
      );
    },
  };
}

/** The last `lines` lines of a file (reads only its end); empty if it cannot be read. */
export function tailOfFile(path: string, lines: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString("utf8").split("\n").slice(-lines - 1).join("\n").trimEnd();
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
