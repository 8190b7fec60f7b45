import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import {
  DOWNLOAD_OVERHEAD,
  FAULT_PAYLOAD_BYTES,
  FAULT_PIECE_BYTES,
  bucketProblems,
  ensureFaultCluster,
  faultSwarm,
  followJob,
  metricValue,
  opsGet,
  piecesSentBack,
  pollerLogMarks,
  runningServices,
  saveServiceLogs,
  seedsUploaded,
  startClusterBackends,
  type ClusterBackends,
} from "./cluster-kit.js";
import type { Swarm } from "./swarm.js";

const JOB_TIMEOUT_MS = 180_000;
/** Where a fault lands: once this much of the job is stored (the job's own progress says). */
const FAULT_AT = 0.3;
/** A fault that landed later than this did not land mid-download. */
const LATEST_FAULT = 0.8;

/**
 * Faults in the middle of a download into S3: one cluster (Redis with AOF, NATS with JetStream,
 * the S3 server; a tracker-poller, a piece-verifier, a storage-writer and three peer-workers,
 * each its own process) shared by the tests, a fresh torrent for each. Every test checks that the
 * job completes, that the bucket holds the payload byte for byte with no multipart upload left,
 * and that the seeds sent at most the payload with the usual overhead plus what the fault lost:
 * the pieces the torrent's owner sent back to missing, each downloaded again: when a lease lapsed
 * (a dead worker's claims and staged pieces, a dead writer's held pieces), or when a piece's bus
 * message was lost in a NATS restart.
 */
describe("cluster faults: kill -9 and restarts mid-download", () => {
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

  /** Runs a job for a fresh torrent, calls `fault` once `FAULT_AT` of it is stored, and checks the result. */
  async function downloadThrough(tag: string, fault: () => Promise<void>) {
    // The services' logs hold a failure's cause: kept for whoever reads the failure.
    onTestFailed(async () => {
      const dir = await saveServiceLogs(backends, join(tmpdir(), `shoal-cluster-faults-${tag}-${Date.now()}`));
      process.stderr.write(`service logs of the failed test: ${dir}\n`);
    });
    swarm = await faultSwarm(`faults-${tag}`);
    await ensureFaultCluster(backends);
    const prefix = `faults/${tag}`;
    const marks = pollerLogMarks(backends);
    const job = followJob(backends, swarm.torrentPath, prefix, JOB_TIMEOUT_MS);
    await job.untilStored(FAULT_AT, 90_000);
    expect(job.storedFraction()).toBeLessThan(LATEST_FAULT);
    await fault();
    const done = await job.finished;
    expect(done.stderr).not.toMatch(/internal error/);
    const lastProgress = done.events.filter((e) => e["event"] === "progress").at(-1);
    expect(done.code, `${done.stderr}\nlast progress: ${JSON.stringify(lastProgress)}`).toBe(0);
    expect(await bucketProblems(backends, swarm, prefix)).toEqual([]);
    const sentBack = piecesSentBack(marks);
    const uploaded = await seedsUploaded(swarm);
    expect(uploaded).toBeLessThanOrEqual(FAULT_PAYLOAD_BYTES * DOWNLOAD_OVERHEAD + sentBack * FAULT_PIECE_BYTES);
    return { sentBack, prefix };
  }

  it("a peer-worker killed with -9: its claims come back when its lease lapses, and only they are fetched again", async () => {
    const r = await downloadThrough("worker-kill9", async () => {
      const victim = runningServices(backends, "peer-worker")[0]!;
      victim.child.kill("SIGKILL");
      await victim.exited;
    });
    // The owner's sweep gave the dead worker's claims back (its heartbeat TTL is 5 s here).
    expect(r.sentBack).toBeGreaterThan(0);
  }, 300_000);

  it("the piece-verifier killed with -9 and a new one started: staged pieces waiting on the bus reach the new one", async () => {
    await downloadThrough("verifier-kill9", async () => {
      const victim = runningServices(backends, "piece-verifier")[0]!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      // Workers go on staging while no verifier runs: their messages wait in JetStream, and those
      // the dead one had pulled come back after the ack wait.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await ensureFaultCluster(backends);
    });
  }, 300_000);

  it("the storage-writer killed with -9 and a new one started: stored pieces stay stored, open multipart uploads are continued", async () => {
    const openAtKill = new Map<string, string>();
    let finishedMultipartAtKill = 0;
    let newWriterMetricsPort = 0;
    const r = await downloadThrough("writer-kill9", async () => {
      const victim = runningServices(backends, "storage-writer")[0]!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      // What the dead writer left: uploads in progress (their parts recorded in Redis) and finished objects.
      for (const u of await backends.s3.listMultipartUploads(backends.bucket, "faults/writer-kill9/")) openAtKill.set(u.key, u.uploadId);
      finishedMultipartAtKill = (await backends.s3.listObjects(backends.bucket, "faults/writer-kill9/")).filter((o) => /-\d+$/.test(o.etag)).length;
      await ensureFaultCluster(backends);
      newWriterMetricsPort = await runningServices(backends, "storage-writer")[0]!.ready;
    });
    expect(openAtKill.size).toBeGreaterThan(0);
    // The new writer began uploads only for the multipart objects that had none: the ones open
    // at the kill went on from the parts the ledger recorded, and none was aborted.
    const multipart = (await backends.s3.listObjects(backends.bucket, `${r.prefix}/`)).filter((o) => /-\d+$/.test(o.etag)).length;
    const metrics = (await opsGet(newWriterMetricsPort, "/metrics")).body;
    const requests = (op: string) => metricValue(metrics, "shoal_s3_requests_total", { op }) ?? 0;
    expect(requests("createMultipartUpload")).toBe(multipart - openAtKill.size - finishedMultipartAtKill);
    expect(requests("abortMultipartUpload")).toBe(0);
    // The pieces the dead writer held in memory for parts not yet full went back to missing when
    // its lease lapsed: they are sentBack, the only pieces the seeds' bound lets them send twice.
  }, 300_000);

  it("nats-server restarted mid-download (same port, same JetStream store): the job completes", async () => {
    await downloadThrough("nats-restart", () => backends.nats.restart());
  }, 300_000);

  it("redis-server restarted mid-download (append-only file on): the job completes", async () => {
    await downloadThrough("redis-restart", () => backends.redis.restart());
  }, 300_000);

  it("the S3 server restarted mid-download: the job completes", async () => {
    await downloadThrough("s3-restart", () => backends.s3.restart());
  }, 300_000);
});
