import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Inbox } from "@shoal/contract-tests";
import { startProcess, waitFor, type ManagedProcess } from "@shoal/testkit";
import { jobData, queueFixture, resultFor } from "./fixture.js";

const fx = queueFixture();
const FIXTURE = fileURLToPath(new URL("./fixtures/hanging-worker.mjs", import.meta.url));
const BUILT = fileURLToPath(new URL("../dist/index.js", import.meta.url));
// Short lock and stalled check, so a crash is noticed in about two seconds instead of a minute;
// one stall allowed, so the crash loop below needs two crashes, not three.
const POLICY = { lockDurationMs: 1_000, stalledIntervalMs: 500, maxStalledCount: 1 };

describe("BullJobQueue when a worker process dies", () => {
  let child: ManagedProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await child?.stop();
    child = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a job whose worker was SIGKILLed is taken over by another worker after its lock lapses", async () => {
    expect(existsSync(BUILT), `the crash test runs the built package: run \`npx tsc -b\` first (${BUILT})`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "shoal-queue-crash-"));
    child = startProcess({
      name: "hanging worker",
      command: process.execPath,
      args: [FIXTURE, JSON.stringify({ redisUrl: fx.redis().url, prefix: fx.prefix(), ...POLICY })],
      logPath: join(dir, "worker.log"),
    });
    const crashing = child;
    await waitFor(() => (crashing.assertRunning("hanging worker"), crashing.logTail().includes("ready")), {
      timeoutMs: 15_000,
      what: "the worker process to start",
      describe: () => crashing.logTail(),
    });
    const submitter = fx.open();
    const jobId = await submitter.add(jobData("crash"), { jobId: "ih-crash" });
    await waitFor(() => crashing.logTail().includes(`started ${jobId}`), {
      timeoutMs: 10_000,
      what: "the worker process to take the job",
      describe: () => crashing.logTail(),
    });
    crashing.kill9();
    await crashing.exited;

    const survivor = fx.open(POLICY);
    const ran = new Inbox<string>();
    await survivor.process(async (data, context) => {
      ran.push(context.jobId);
      return resultFor(data);
    });
    expect(await submitter.waitUntilFinished(jobId)).toEqual(resultFor(jobData("crash")));
    expect(ran.items).toEqual([jobId]);
    const job = await fx.tooling().getJob(jobId);
    // One stall, within maxStalledCount: requeued rather than failed, with no try spent on it.
    expect(job?.stalledCounter).toBe(1);
    expect(job?.attemptsMade).toBe(1);
  });

  it("a job that kills more workers than maxStalledCount allows fails with BullMQ's stalled reason", async () => {
    expect(existsSync(BUILT), `the crash test runs the built package: run \`npx tsc -b\` first (${BUILT})`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "shoal-queue-crash-"));
    const submitter = fx.open();
    const jobId = await submitter.add(jobData("crash-loop"), { jobId: "ih-crash-loop" });
    // maxStalledCount 1: the second crash ends the job.
    for (let crash = 1; crash <= 2; crash++) {
      child = startProcess({
        name: `hanging worker ${crash}`,
        command: process.execPath,
        args: [FIXTURE, JSON.stringify({ redisUrl: fx.redis().url, prefix: fx.prefix(), ...POLICY })],
        logPath: join(dir, `worker-${crash}.log`),
      });
      const crashing = child;
      await waitFor(() => (crashing.assertRunning(crashing.name), crashing.logTail().includes(`started ${jobId}`)), {
        timeoutMs: 15_000,
        what: `worker ${crash} to take the job`,
        describe: () => crashing.logTail(),
      });
      crashing.kill9();
      await crashing.exited;
    }
    const survivor = fx.open(POLICY);
    const ran = new Inbox<string>();
    await survivor.process(async (data, context) => {
      ran.push(context.jobId);
      return resultFor(data);
    });
    const err = await submitter.waitUntilFinished(jobId).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe("job stalled more than allowable limit");
    expect(ran.items).toEqual([]);
  });

  it("a job cancelled right after its worker died is failed as cancelled and never runs again", async () => {
    expect(existsSync(BUILT), `the crash test runs the built package: run \`npx tsc -b\` first (${BUILT})`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), "shoal-queue-crash-"));
    const submitter = fx.open();
    const jobId = await submitter.add(jobData("crash-cancel"), { jobId: "ih-crash-cancel" });
    child = startProcess({
      name: "hanging worker",
      command: process.execPath,
      args: [FIXTURE, JSON.stringify({ redisUrl: fx.redis().url, prefix: fx.prefix(), ...POLICY })],
      logPath: join(dir, "worker.log"),
    });
    const crashing = child;
    await waitFor(() => (crashing.assertRunning(crashing.name), crashing.logTail().includes(`started ${jobId}`)), {
      timeoutMs: 15_000,
      what: "the worker process to take the job",
      describe: () => crashing.logTail(),
    });
    crashing.kill9();
    await crashing.exited;
    // Whether the dead worker's lock is still there (the job is marked, and fails when it is
    // taken again) or already gone (the job is failed here), the outcome must be the same.
    await submitter.cancel(jobId);
    const survivor = fx.open(POLICY);
    const ran = new Inbox<string>();
    await survivor.process(async (data, context) => {
      ran.push(context.jobId);
      return resultFor(data);
    });
    const err = await submitter.waitUntilFinished(jobId).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ name: "CoordinationError", code: "QUEUE_CLOSED", message: `job ${jobId} cancelled` });
    expect(ran.items).toEqual([]);
  });
});
