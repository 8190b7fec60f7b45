import { spawn } from "node:child_process";
import type { ChildProcess, StdioOptions } from "node:child_process";
import { SYSTEM_PYTHON, requireExecutable } from "./executables.js";
import { pyScript } from "./package-root.js";

/**
 * Every child the testkit starts, by process group id. Each child leads its own group
 * (spawned detached), so killing the group also takes down anything it forked.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/**
 * On a normal Node exit (including vitest tearing a worker down) no fixture may survive. The
 * hook is synchronous because 'exit' handlers cannot await. When Node is killed outright, the
 * parent-death signal set by py/lifeline.py takes the children down instead.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pgid of liveGroups) killGroup(pgid, "SIGKILL");
  });
}

/** Sends a signal to a whole process group; a group that is already gone is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

export interface SpawnTrackedOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly stdio: StdioOptions;
  /** Drop root to this user before exec (see py/lifeline.py). */
  readonly runAsUser?: string;
  /** Run inside this network namespace (a name from `ip netns list`; see py/lifeline.py). */
  readonly netns?: string;
}

/**
 * Spawns `command` through py/lifeline.py in a new process group and tracks it until it
 * exits. `command` must already be resolved (see requireExecutable).
 */
export function spawnTracked(command: string, args: readonly string[], opts: SpawnTrackedOptions): ChildProcess {
  installExitHook();
  const python = requireExecutable(SYSTEM_PYTHON);
  const lifeline = [
    // -I -S: no user site, no site-packages; the wrapper only needs the standard library.
    "-I",
    "-S",
    pyScript("lifeline.py"),
    "--parent",
    String(process.pid),
    ...(opts.runAsUser === undefined ? [] : ["--user", opts.runAsUser]),
    ...(opts.netns === undefined ? [] : ["--netns", opts.netns]),
    "--",
    command,
    ...args,
  ];
  const child = spawn(python, lifeline, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: opts.stdio,
    detached: true,
  });
  const pgid = child.pid;
  if (pgid !== undefined) {
    liveGroups.add(pgid);
    child.once("exit", () => {
      // Members the leader forked may outlive it; they belong to the fixture, so end them too.
      killGroup(pgid, "SIGKILL");
      liveGroups.delete(pgid);
    });
  }
  return child;
}

/** Number of children still tracked; tests use it to prove nothing is left behind. */
export function liveChildCount(): number {
  return liveGroups.size;
}
