import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import {
  DOWNLOAD_OVERHEAD,
  FAULT_ENV,
  FAULT_FILES,
  FAULT_PAYLOAD_BYTES,
  FAULT_SEED_RATE_BYTES_PER_SEC,
  FAULT_SEEDS,
  bucketProblems,
  ensureFaultCluster,
  followJob,
  piecesSentBack,
  pollerLogMarks,
  runningServices,
  saveServiceLogs,
  seedsUploaded,
  startClusterBackends,
  type ClusterBackends,
} from "./cluster-kit.js";
import { waitFor } from "@shoal/testkit";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
/** A stock nats-server's `max_payload`: every piece of these torrents travels in chunks. */
const STOCK_MAX_PAYLOAD = 1024 * 1024;

/**
 * Pieces larger than one NATS message, in a cluster of service processes: the NATS server runs
 * with a stock 1 MiB `max_payload`, so each piece's bytes travel as chunks in the bus's bytes
 * stream next to its `piece_staged` message, and the verifier and the writer each put them back
 * together. Without chunking the job is refused (or loops); with it the bucket holds the
 * payload byte for byte.
 */
describe("cluster: pieces over NATS max_payload travel in chunks", () => {
  let backends: ClusterBackends;
  let swarm: Swarm | undefined;

  beforeAll(async () => {
    backends = await startClusterBackends({ natsMaxPayloadBytes: STOCK_MAX_PAYLOAD });
  }, 120_000);

  afterEach(async () => {
    await swarm?.close();
    swarm = undefined;
  }, 60_000);

  afterAll(async () => {
    await backends?.close();
  }, 60_000);

  it("a torrent of 4 MiB pieces lands byte-identical through a 1 MiB NATS, its bytes sent into NATS once and no chunk left behind", async () => {
    keepLogsOnFailure(backends, "happy");
    swarm = await startSwarm({
      payload: {
        name: "chunked-set",
        seed: "cluster-chunked",
        files: [
          { path: "big/large.bin", size: 21 * MiB + 7_777 },
          { path: "small.bin", size: 1 * MiB + 12_345 },
          { path: "empty.txt", size: 0 },
          { path: "mid.bin", size: 9 * MiB + 3 },
        ],
      },
      pieceLength: 4 * MiB,
      tracker: "http",
      seeds: 2,
    });
    await ensureFaultCluster(backends);
    const before = await natsTraffic(backends.nats.monitorUrl);
    const prefix = "chunked/happy";
    const job = followJob(backends, swarm.torrentPath, prefix, 240_000);
    const done = await job.finished;
    expect(done.stderr).not.toMatch(/internal error/);
    expect(done.code, done.stderr).toBe(0);
    expect(await bucketProblems(backends, swarm, prefix)).toEqual([]);
    // Each piece's bytes entered NATS once (as chunks), and went out once to each group.
    const after = await natsTraffic(backends.nats.monitorUrl);
    const payloadBytes = swarm.payload.totalBytes;
    expect((after.inBytes - before.inBytes) / payloadBytes).toBeLessThan(1.5);
    expect((after.outBytes - before.outBytes) / payloadBytes).toBeGreaterThanOrEqual(2);
    // The writer, the last group to need them, purged every piece's chunks (right after each
    // piece's message, without waiting for an answer).
    await waitFor(async () => (await bytesStreamMessages(backends.nats.monitorUrl)) === 0, { timeoutMs: 10_000, what: "every chunk purged" });
  }, 300_000);
});

/**
 * Faults with chunked pieces. The server's `max_payload` is 256 KiB here and pieces 512 KiB
 * (three chunks each), so a 41 MiB torrent has about 80 pieces: with a few dozen 2 MiB pieces
 * instead, end-game duplicates alone (three workers on three slow seeds) go past the bound the
 * fault tests hold the seeds to, whatever the bus does.
 */
describe("cluster faults with pieces over NATS max_payload", () => {
  const FAULT_NATS_MAX_PAYLOAD = 256 * 1024;
  const PIECE_BYTES = 512 * 1024;
  let backends: ClusterBackends;
  let swarm: Swarm | undefined;

  beforeAll(async () => {
    backends = await startClusterBackends({ natsMaxPayloadBytes: FAULT_NATS_MAX_PAYLOAD });
  }, 120_000);

  afterEach(async () => {
    await swarm?.close();
    swarm = undefined;
  }, 60_000);

  afterAll(async () => {
    await backends?.close();
  }, 60_000);

  /** Runs a job whose pieces are chunked, calls `fault` once some of it is stored, and checks the result. */
  async function downloadThrough(tag: string, fault: () => Promise<void>): Promise<void> {
    keepLogsOnFailure(backends, tag);
    swarm = await startSwarm({
      payload: { name: tag, seed: `cluster-chunked-${tag}`, files: FAULT_FILES },
      pieceLength: PIECE_BYTES,
      tracker: "http",
      seeds: FAULT_SEEDS,
      seedUploadRateLimit: FAULT_SEED_RATE_BYTES_PER_SEC,
    });
    await ensureFaultCluster(backends, FAULT_ENV);
    const prefix = `chunked/${tag}`;
    const marks = pollerLogMarks(backends);
    // Deadlines for a shared machine: the submit alone took 45 s to start at a load of 35.
    const job = followJob(backends, swarm.torrentPath, prefix, 300_000);
    await job.untilStored(0.25, 180_000);
    expect(job.storedFraction()).toBeLessThan(0.8);
    await fault();
    const done = await job.finished;
    expect(done.stderr).not.toMatch(/internal error/);
    expect(done.code, done.stderr).toBe(0);
    expect(await bucketProblems(backends, swarm, prefix)).toEqual([]);
    // Only what the fault sent back (a dead writer's held pieces) was downloaded twice.
    const sentBack = piecesSentBack(marks);
    expect(await seedsUploaded(swarm)).toBeLessThanOrEqual(FAULT_PAYLOAD_BYTES * DOWNLOAD_OVERHEAD + sentBack * PIECE_BYTES);
  }

  it("the storage-writer killed with -9 mid-download: its standby takes over, fetches the chunks of the pieces the dead one had taken, and the job completes", async () => {
    await downloadThrough("writer-kill9", async () => {
      // Writers run with a standby, which takes over once the dead one's lock lapses: seconds,
      // where starting a new process on a loaded machine can outlast the stuck-piece sweep.
      const victim = runningServices(backends, "storage-writer")[0]!;
      const standby = backends.startService("storage-writer", FAULT_ENV);
      await standby.ready;
      victim.child.kill("SIGKILL");
      await victim.exited;
    });
  }, 480_000);

  it("the piece-verifier killed with -9 mid-download: the chunks wait in the bytes stream for the next one, and the job completes", async () => {
    await downloadThrough("verifier-kill9", async () => {
      const victim = runningServices(backends, "piece-verifier")[0]!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      // Workers go on staging while no verifier runs.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await ensureFaultCluster(backends, FAULT_ENV);
    });
  }, 480_000);
});

/** Keeps the services' logs of a failed test, which hold its cause. */
function keepLogsOnFailure(backends: ClusterBackends, tag: string): void {
  onTestFailed(async () => {
    const dir = await saveServiceLogs(backends, join(tmpdir(), `shoal-cluster-chunked-${tag}-${Date.now()}`));
    process.stderr.write(`service logs of the failed test: ${dir}\n`);
  });
}

/** Bytes the NATS server took in from clients and sent out to them, from its monitoring endpoint. */
async function natsTraffic(monitorUrl: string): Promise<{ inBytes: number; outBytes: number }> {
  const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { in_bytes: number; out_bytes: number };
  return { inBytes: varz.in_bytes, outBytes: varz.out_bytes };
}

/** Chunks the bus's bytes stream (`SHOAL_BYTES`, the default stream's) holds now. */
async function bytesStreamMessages(monitorUrl: string): Promise<number> {
  const jsz = (await (await fetch(`${monitorUrl}/jsz?streams=true`)).json()) as {
    account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[];
  };
  const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
  const bytes = streams.find((s) => s.name === "SHOAL_BYTES");
  if (!bytes) throw new Error(`no SHOAL_BYTES stream among ${streams.map((s) => s.name).join(", ") || "none"}`);
  return bytes.state.messages;
}
