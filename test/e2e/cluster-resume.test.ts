import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { respCommand, waitFor } from "@shoal/testkit";
import {
  DOWNLOAD_OVERHEAD,
  FAULT_ENV,
  FAULT_PAYLOAD_BYTES,
  FAULT_PIECE_BYTES,
  UNREAD_AT_CLOSE_BYTES,
  bucketProblems,
  ensureFaultCluster,
  faultSwarm,
  followJob,
  runningServices,
  saveServiceLogs,
  seedsUploaded,
  startClusterBackends,
  type ClusterBackends,
} from "./cluster-kit.js";
import type { Swarm } from "./swarm.js";

const JOB_TIMEOUT_MS = 180_000;
/**
 * The store's default 16 MiB parts: every file of the payload but the largest is then one PUT,
 * finished in the bucket as soon as its pieces are all there, so a job stopped half-way leaves
 * finished objects next to files not begun.
 */
/**
 * One claim window spanning the whole 41 MiB torrent (runs of 64 MiB): every worker claims in
 * index order, so files finish front to back and a cancel half-way finds finished objects. With
 * the default 16 MiB runs, three workers that start together each open a window at a random
 * place and every object finishes in the last seconds, too late for a cancel half-way.
 */
const RESUME_ENV: NodeJS.ProcessEnv = { ...FAULT_ENV, SHOAL_S3_PART_SIZE_MIB: "16", SHOAL_PEER_WORKER_CLAIM_RUN_MIB: "64" };
/**
 * What must be finished in the bucket before the cancel: a fifth of the payload, so that what the
 * second job is spared is large next to the download's overhead (regions of the torrent fill in
 * their own order, and at 40 % stored this has ranged from 1 to 23 MB).
 */
const FINISHED_BEFORE_CANCEL_BYTES = 8 * 1024 * 1024;

/**
 * Jobs stopped half-way and submitted again for the same torrent and prefix. What survives a
 * cancelled job is what is finished in the bucket (cancel is for good: its unfinished multipart
 * uploads are aborted), so the second job must fetch what is not in a finished object, and only
 * that, checking the finished objects against the piece hashes rather than trusting them.
 */
describe("cluster resume: a job cancelled half-way, submitted again", () => {
  let backends: ClusterBackends;
  let swarm: Swarm | undefined;

  beforeAll(async () => {
    backends = await startClusterBackends();
  }, 120_000);

  afterEach(async () => {
    await swarm?.close();
    swarm = undefined;
  }, 60_000);

  afterAll(async () => {
    await backends?.close();
  }, 60_000);

  /**
   * Runs a job until at least 40 % is stored and `FINISHED_BEFORE_CANCEL_BYTES` are in finished
   * objects, cancels it with `shoal cancel`, and waits until its unfinished uploads are gone.
   * Resolves with the finished objects and their sizes.
   */
  async function partialRun(tag: string): Promise<{ prefix: string; finished: Map<string, number> }> {
    onTestFailed(async () => {
      const dir = await saveServiceLogs(backends, join(tmpdir(), `shoal-cluster-resume-${tag}-${Date.now()}`));
      process.stderr.write(`service logs of the failed test: ${dir}\n`);
    });
    swarm = await faultSwarm(`resume-${tag}`);
    await ensureFaultCluster(backends, RESUME_ENV);
    const prefix = `resume/${tag}`;
    const first = followJob(backends, swarm.torrentPath, prefix, JOB_TIMEOUT_MS);
    await first.untilStored(0.4, 90_000);
    const listed = async () => (await backends.s3.listObjects(backends.bucket, `${prefix}/`)).filter((o) => o.size > 0);
    const finishedBytes = async () => (await listed()).reduce((n, o) => n + o.size, 0);
    await waitFor(async () => (await finishedBytes()) >= FINISHED_BEFORE_CANCEL_BYTES, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `${FINISHED_BEFORE_CANCEL_BYTES} bytes in finished objects`,
    });
    const cancelled = await backends.shoal(["cancel", await first.jobId()], 30_000);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const firstDone = await first.finished;
    expect(firstDone.code, firstDone.stderr).toBe(1);
    expect(first.storedFraction()).toBeLessThan(0.9);
    // The owner aborts the uploads it knows, the writer those it began since.
    await waitFor(async () => (await backends.s3.listMultipartUploads(backends.bucket, `${prefix}/`)).length === 0, {
      timeoutMs: 30_000,
      what: "the cancelled job's unfinished uploads to be aborted",
    });
    // Workers leave the swarm on the cancel; anything seeds still send after this counts against the next job.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const finished = new Map((await listed()).map((o) => [o.key, o.size]));
    return { prefix, finished };
  }

  /** Submits again, checks the bucket, and resolves with what the seeds sent for this job. */
  async function resubmit(prefix: string): Promise<number> {
    const before = await seedsUploaded(swarm!);
    const again = followJob(backends, swarm!.torrentPath, prefix, JOB_TIMEOUT_MS);
    const done = await again.finished;
    expect(done.stderr).not.toMatch(/internal error/);
    const lastProgress = done.events.filter((e) => e["event"] === "progress").at(-1);
    expect(done.code, `${done.stderr}\nlast progress: ${JSON.stringify(lastProgress)}`).toBe(0);
    expect(await bucketProblems(backends, swarm!, prefix)).toEqual([]);
    return (await seedsUploaded(swarm!)) - before;
  }

  /**
   * What the resumed job may cost the seeds: the bytes outside finished objects (plus `refetched`
   * bytes of finished objects found damaged), and the pieces a finished object shares with a
   * neighbour not finished (at most two per object: the recheck cannot read them whole), with
   * the usual overhead; plus what seeds send into connections that close unread.
   */
  function resumeBound(finished: Map<string, number>, refetched = 0): number {
    const finishedBytes = [...finished.values()].reduce((n, s) => n + s, 0);
    const needed = FAULT_PAYLOAD_BYTES - finishedBytes + refetched + 2 * finished.size * FAULT_PIECE_BYTES;
    return needed * DOWNLOAD_OVERHEAD + UNREAD_AT_CLOSE_BYTES;
  }

  it("submitted again for the same prefix, it fetches only what is not in a finished object", async () => {
    const { prefix, finished } = await partialRun("cancel");
    expect(await resubmit(prefix)).toBeLessThanOrEqual(resumeBound(finished));
  }, 300_000);

  it("with Redis wiped in between (FLUSHALL), the finished objects are rechecked against the piece hashes and only the rest is fetched", async () => {
    const { prefix, finished } = await partialRun("flushall");
    // The piece table, the upload ledger and the job queue are gone: only the bucket remembers.
    expect(await respCommand(backends.redis.url, ["FLUSHALL"])).toBe("OK");
    // The writer's active lock went too: the writer, alone, takes it again and keeps running.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(runningServices(backends, "storage-writer")).toHaveLength(1);
    await ensureFaultCluster(backends, RESUME_ENV);
    expect(await resubmit(prefix)).toBeLessThanOrEqual(resumeBound(finished));
  }, 300_000);

  it("a finished object overwritten with other bytes of its size is fetched again and written whole, though the ledger vouched for it", async () => {
    const { prefix, finished } = await partialRun("overwritten");
    // The largest finished object, with its size kept: only its bytes can tell.
    const [key, size] = [...finished].sort((a, b) => b[1] - a[1])[0]!;
    await backends.s3.putObject(backends.bucket, key, randomBytes(size));
    expect(await resubmit(prefix)).toBeLessThanOrEqual(resumeBound(finished, size));
  }, 300_000);
});
