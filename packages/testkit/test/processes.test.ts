import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SYSTEM_PYTHON, freePort, liveChildCount, runProcess, startProcess, waitFor } from "../src/index.js";

/** Alive and not a zombie (here PID 1 may not reap orphans, so a killed orphan lingers as Z). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("child processes", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "testkit-proc-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("names a missing program and the package to install", () => {
    expect(() =>
      startProcess({ name: "nothing", command: "no-such-program-xyz", args: [], logPath: join(dir, "x.log") }),
    ).toThrow(expect.objectContaining({ code: "MISSING_BINARY" }));
  });

  it("reports an early exit with its status and the tail of its log", async () => {
    const proc = startProcess({
      name: "dies",
      command: "sh",
      args: ["-c", "echo 'listen failed: address in use' >&2; exit 3"],
      logPath: join(dir, "dies.log"),
    });
    expect((await proc.exited).code).toBe(3);
    let thrown: unknown;
    try {
      proc.assertRunning("starting");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: "EARLY_EXIT" });
    expect(String(thrown)).toContain("exit code 3");
    expect(String(thrown)).toContain("listen failed: address in use");
  });

  it("stops a whole process group, including what the child forked", async () => {
    const pidFile = join(dir, "grandchild.pid");
    const proc = startProcess({
      name: "forker",
      command: "sh",
      args: ["-c", `sleep 300 & echo $! > ${pidFile}; wait`],
      logPath: join(dir, "forker.log"),
    });
    let grandchild = 0;
    await waitFor(
      () => {
        try {
          grandchild = Number(readFileSync(pidFile, "utf8"));
        } catch {
          return false;
        }
        return grandchild > 0;
      },
      { timeoutMs: 5_000, what: "the grandchild's pid file" },
    );
    expect(alive(grandchild)).toBe(true);
    await proc.stop();
    await waitFor(() => !alive(grandchild), { timeoutMs: 5_000, what: `grandchild ${grandchild} to die` });
    expect(liveChildCount()).toBe(0);
  });

  it("kills a command and its group at the deadline and says it timed out", async () => {
    const started = Date.now();
    const res = await runProcess("sh", ["-c", "echo started; sleep 300 & wait"], { timeoutMs: 300, killGraceMs: 200 });
    expect(res.timedOut).toBe(true);
    expect(res.stdout).toContain("started");
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(runProcess("sh", ["-c", "exit 4"], { timeoutMs: 5_000, check: true })).rejects.toMatchObject({
      code: "EARLY_EXIT",
    });
  });

  it("takes a child down when the Node process that started it is killed outright", async () => {
    // A Node parent that starts `sleep` through py/lifeline.py exactly as the testkit does,
    // prints the sleeper's pid and waits; it is then SIGKILLed, so no exit hook runs.
    const lifeline = join(import.meta.dirname, "..", "py", "lifeline.py");
    const script = `
      const { spawn } = require("node:child_process");
      const c = spawn(${JSON.stringify(SYSTEM_PYTHON)}, ["-I", "-S", ${JSON.stringify(lifeline)}, "--parent", String(process.pid), "--", "sleep", "300"], { stdio: "ignore", detached: true });
      console.log(c.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const sleeper = await new Promise<number>((resolve) => parent.stdout.once("data", (b: Buffer) => resolve(Number(b.toString()))));
    await waitFor(() => readFileSync(`/proc/${sleeper}/cmdline`, "utf8").startsWith("sleep"), {
      timeoutMs: 5_000,
      what: "the lifeline to exec sleep",
    });
    parent.kill("SIGKILL");
    await waitFor(() => !alive(sleeper), { timeoutMs: 5_000, what: `sleep ${sleeper} to die with its parent` });
  });

  it("hands out distinct ports that are free for TCP and UDP", async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    expect(await freePort("127.0.0.77")).toBeGreaterThan(0);
  });

  it("names the awaited condition when waitFor times out", async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, what: "the moon to turn blue" })).rejects.toThrow(
      /timed out after 50 ms waiting for the moon to turn blue/,
    );
  });
});
