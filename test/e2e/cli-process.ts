import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built CLI, run exactly as a user runs it (`npm test` builds first). */
export const SHOAL_BIN = fileURLToPath(new URL("../../packages/cli/bin/shoal.js", import.meta.url));

export interface CliRun {
  readonly child: ChildProcess;
  /** JSON events seen so far on stdout (with --json). */
  readonly events: Record<string, unknown>[];
  /** Everything written to stdout so far, as text (a job id like `7` is also valid JSON). */
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `shoal ...args` and collects its JSON events and stderr. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, [SHOAL_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: Record<string, unknown>[] = [];
  let err = "";
  let out = "";
  let buf = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    if (out.length < 4_000_000) out += s;
    buf += s;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ event: "text", line });
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    err += s;
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, events, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to its end with a deadline; kills it (and fails) if it overruns. */
export async function runCli(args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}) {
  const run = startCli(args, env);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs);
  const exit = await run.exited;
  clearTimeout(timer);
  return { ...exit, events: run.events, stdout: run.stdout(), stderr: run.stderr() };
}
