import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { peerWorkerConfigSchema } from "@shoal/peer-worker";
import { DEFAULT_METRICS_PORT } from "@shoal/runtime";
import { freePort, runProcess, startNatsServer, startProcess, startRedisServer, waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeConfig, readRepoFile, ROOT } from "./deploy-kit.js";

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/**
 * The Dockerfile's stages, read line by line: comments dropped, continuation lines joined, one
 * instruction per line. Enough for the file this repository writes; not a general parser.
 */
function dockerfileStages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (op!.toUpperCase() === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m![1]!, name: m![2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op!.toUpperCase(), args });
    }
  }
  return stages;
}

const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);

/** Nothing from the developer's shell: the image has no SHOAL_* settings either. */
function imageEnv(staged: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${join(staged, "node_modules/.bin")}${delimiter}${process.env["PATH"] ?? ""}`, HOME: tmpdir(), NODE_ENV: "production", ...extra };
}

const STAGE_DIR_RE = /node scripts\/stage-runtime\.mjs (\S+)$/;

describe("Dockerfile", () => {
  const stages = dockerfileStages(readRepoFile("Dockerfile"));
  const build = stages[0]!;
  const runtime = stages.at(-1)!;

  it("builds in one stage and runs from another that holds only the staged program, as a non-root user", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.name).toBeTruthy();
    const runs = ops(build, "RUN");
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\btsc -b\b/.test(r))).toBe(true);
    const stageRun = runs.find((r) => STAGE_DIR_RE.test(r));
    expect(stageRun, "the build stage runs scripts/stage-runtime.mjs").toBeDefined();
    const stagedDir = STAGE_DIR_RE.exec(stageRun!)![1];

    // The run-time stage: the same Node base, the staged directory copied whole, nothing installed.
    expect(runtime.from).toBe(build.from);
    expect(runtime.from).toMatch(/^node:20[.-]/);
    // Besides the program, one empty directory for the state the program keeps (the DHT node's),
    // owned by the user that runs it.
    expect(ops(runtime, "COPY")).toEqual([`--from=${build.name} ${stagedDir} /app`, `--from=${build.name} --chown=1000:1000 /state /var/lib/shoal`]);
    expect(runs).toContain("mkdir /state");
    expect(ops(runtime, "RUN")).toEqual([]);
    const user = ops(runtime, "USER");
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(ops(runtime, "ENV").join(" ")).toContain("PATH=/app/node_modules/.bin:$PATH");
    expect(ops(runtime, "ENTRYPOINT")).toEqual(['["shoal"]']);
    const exposed = ops(runtime, "EXPOSE").join(" ").split(/\s+/).map(Number);
    expect(exposed).toContain(DEFAULT_METRICS_PORT);
    expect(exposed).toContain(peerWorkerConfigSchema.parse({}).listenPort);
  });

  it("copies sources that exist and are not ignored, and ignores what the host built or installed", () => {
    const ignored = readRepoFile(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(ignored).toContain("**/node_modules");
    expect(ignored).toContain("**/dist");
    for (const copy of ops(build, "COPY")) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(ignored, source).not.toContain(source);
      }
    }
  });
});

describe("the image's run-time contents (scripts/stage-runtime.mjs, as the Dockerfile runs it)", () => {
  let staged: string;
  let shoal: string;

  beforeAll(async () => {
    staged = join(await mkdtemp(join(tmpdir(), "shoal-image-")), "app");
    const result = await runProcess("node", ["scripts/stage-runtime.mjs", staged], { cwd: ROOT, timeoutMs: 150_000 });
    if (result.exitCode !== 0) throw new Error(`stage-runtime failed (${result.exitCode}): ${result.stderr}`);
    shoal = join(staged, "node_modules/.bin/shoal");
  }, 180_000);

  afterAll(async () => {
    if (staged) await rm(join(staged, ".."), { recursive: true, force: true });
  });

  it("holds production dependencies only, and no test kit", () => {
    const rootPkg = JSON.parse(readRepoFile("package.json")) as { devDependencies: Record<string, string> };
    for (const dev of Object.keys(rootPkg.devDependencies)) expect(existsSync(join(staged, "node_modules", dev)), dev).toBe(false);
    for (const needed of ["ioredis", "bullmq", "@nats-io/transport-node", "minio", "pino", "prom-client", "zod"]) {
      expect(existsSync(join(staged, "node_modules", needed)), needed).toBe(true);
    }
    expect(existsSync(join(staged, "packages/testkit/dist"))).toBe(false);
    expect(existsSync(join(staged, "packages/coordination-redis/lua"))).toBe(true);
    expect(existsSync(join(staged, "packages/cli/src"))).toBe(false);
  });

  it("answers shoal --help through the ENTRYPOINT on the image's PATH", async () => {
    const result = await runProcess(shoal, ["--help"], { cwd: staged, env: imageEnv(staged), timeoutMs: 30_000 });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("shoal service tracker-poller|peer-worker|piece-verifier|storage-writer");
  });

  it("fails a peer-worker without Redis with one line: status 2 when unset, 1 when unreachable", async () => {
    const unset = await runProcess(shoal, ["service", "peer-worker"], { cwd: staged, env: imageEnv(staged), timeoutMs: 30_000 });
    expect(unset.exitCode).toBe(2);
    expect(unset.stderr).toBe("shoal: Redis missing: set --redis redis://host:port or SHOAL_REDIS_URL\n");

    const closed = await freePort();
    const env = imageEnv(staged, { SHOAL_REDIS_URL: `redis://127.0.0.1:${closed}`, SHOAL_NATS_URL: "nats://127.0.0.1:1", SHOAL_CONNECT_WAIT_SECONDS: "1" });
    const away = await runProcess(shoal, ["service", "peer-worker"], { cwd: staged, env, timeoutMs: 30_000 });
    expect(away.exitCode).toBe(1);
    expect(away.stderr).toMatch(new RegExp(`^shoal: cannot reach Redis at 127\\.0\\.0\\.1:${closed} \\(waited 1 s, SHOAL_CONNECT_WAIT_SECONDS\\): .*ECONNREFUSED.*\\n$`));
  });

  it("runs a peer-worker with the compose file's settings until its compose health check passes, and drains on SIGTERM", async () => {
    const compose = (await composeConfig()).services["peer-worker"]!;
    const check = compose.healthcheck!.test!;
    expect(check.slice(0, 2)).toEqual(["CMD", "node"]);
    const redis = await startRedisServer();
    const nats = await startNatsServer();
    const metricsPort = await freePort();
    const health = () => runProcess("node", check.slice(2), { env: { PATH: process.env["PATH"], SHOAL_METRICS_PORT: String(metricsPort) }, timeoutMs: 15_000 });
    try {
      expect((await health()).exitCode, "nothing listens yet").toBe(1);
      const env = imageEnv(staged, {
        ...compose.environment,
        SHOAL_REDIS_URL: redis.url,
        SHOAL_NATS_URL: nats.url,
        SHOAL_METRICS_PORT: String(metricsPort),
        SHOAL_PEER_WORKER_PORT: String(await freePort()),
      });
      const worker = startProcess({ name: "peer-worker", command: shoal, args: ["service", "peer-worker"], cwd: staged, env, logPath: join(staged, "..", "peer-worker.log") });
      try {
        await waitFor(
          async () => {
            worker.assertRunning("the staged peer-worker");
            return (await health()).exitCode === 0;
          },
          { timeoutMs: 60_000, intervalMs: 500, what: "the compose health check to pass", describe: () => worker.logTail() },
        );
        const status = await worker.stop(15_000);
        expect(status.code, worker.logTail()).toBe(0);
        expect(readFileSync(worker.logPath, "utf8")).toContain("peer-worker stopped");
      } finally {
        await worker.stop();
      }
    } finally {
      await Promise.all([redis.stop(), nats.stop()]);
    }
  }, 120_000);
});
