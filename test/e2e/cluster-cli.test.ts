import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startNatsServer, startRedisServer, waitFor, type LibtorrentPeer } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusJobSchema } from "../../packages/cli/src/status-json.js";
import { runCli, startCli } from "./cli-process.js";
import {
  expectedObjects,
  messageLines,
  metricValue,
  opsGet,
  serveBytes,
  startClusterBackends,
  startPartialSeed,
  type ClusterBackends,
  type ServiceRun,
} from "./cluster-kit.js";
import { startSwarm, type Swarm } from "./swarm.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** No cluster setting inherited from the shell that runs the tests. */
const NO_CLUSTER: NodeJS.ProcessEnv = {
  SHOAL_REDIS_URL: undefined,
  SHOAL_NATS_URL: undefined,
  SHOAL_S3_ENDPOINT: undefined,
  AWS_ENDPOINT_URL_S3: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  SHOAL_METRICS_PORT: "0",
};

/** Stack frames (`    at fn (file.js:1:2)`) in output: a user should never see one. */
const STACK_FRAME = /^\s+at .+[:(]/m;

/** The one line a command wrote to stderr, after checking there is exactly one and no stack. */
function oneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(STACK_FRAME);
  return lines[0]!;
}

function jsonLogs(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// Each case is a process of its own with nothing shared: they run side by side.
describe.concurrent("shoal service: settings are checked before anything starts", () => {
  // Closed ports: a check that wrongly passes makes the service try them and fail with status 1.
  const reachable: NodeJS.ProcessEnv = {
    ...NO_CLUSTER,
    SHOAL_REDIS_URL: "redis://127.0.0.1:1",
    SHOAL_NATS_URL: "nats://127.0.0.1:1",
    SHOAL_S3_ENDPOINT: "http://127.0.0.1:1",
    AWS_ACCESS_KEY_ID: "key",
    AWS_SECRET_ACCESS_KEY: "secret",
    SHOAL_CONNECT_WAIT_SECONDS: "1",
  };
  const cases: { what: string; args: string[]; env: NodeJS.ProcessEnv; names: RegExp }[] = [
    { what: "no Redis URL", args: ["peer-worker"], env: { SHOAL_REDIS_URL: undefined }, names: /SHOAL_REDIS_URL/ },
    { what: "a Redis URL that is http://", args: ["peer-worker"], env: { SHOAL_REDIS_URL: "http://x" }, names: /SHOAL_REDIS_URL.*http:\/\/x/ },
    { what: "a bad --redis flag", args: ["piece-verifier", "--redis", "localhost"], env: {}, names: /--redis/ },
    { what: "no NATS URL", args: ["piece-verifier"], env: { SHOAL_NATS_URL: undefined }, names: /SHOAL_NATS_URL/ },
    { what: "a NATS URL without nats://", args: ["tracker-poller"], env: { SHOAL_NATS_URL: "localhost:4222" }, names: /SHOAL_NATS_URL.*localhost:4222/ },
    { what: "a bad --nats flag", args: ["peer-worker", "--nats", "http://127.0.0.1:4222"], env: {}, names: /--nats/ },
    { what: "a --metrics-port out of range", args: ["peer-worker", "--metrics-port", "99999"], env: {}, names: /--metrics-port.*99999/ },
    { what: "a SHOAL_METRICS_PORT that is no number", args: ["piece-verifier"], env: { SHOAL_METRICS_PORT: "nine" }, names: /SHOAL_METRICS_PORT/ },
    { what: "a storage-writer without an S3 endpoint", args: ["storage-writer"], env: { SHOAL_S3_ENDPOINT: undefined }, names: /SHOAL_S3_ENDPOINT/ },
    { what: "an S3 endpoint with a path", args: ["storage-writer", "--s3", "http://127.0.0.1:1/bucket"], env: {}, names: /--s3/ },
    { what: "a storage-writer without AWS_ACCESS_KEY_ID", args: ["storage-writer"], env: { AWS_ACCESS_KEY_ID: undefined }, names: /AWS_ACCESS_KEY_ID/ },
    { what: "a storage-writer without AWS_SECRET_ACCESS_KEY", args: ["storage-writer"], env: { AWS_SECRET_ACCESS_KEY: undefined }, names: /AWS_SECRET_ACCESS_KEY/ },
    { what: "an unknown service name", args: ["peer-wroker"], env: {}, names: /peer-wroker/ },
    { what: "no service name", args: [], env: {}, names: /peer-worker/ },
    { what: "a misspelt service setting", args: ["peer-worker"], env: { SHOAL_PEER_WORKER_MAX_CONECTIONS: "3" }, names: /SHOAL_PEER_WORKER_MAX_CONECTIONS/ },
    { what: "a service setting that is no number", args: ["peer-worker"], env: { SHOAL_PEER_WORKER_MAX_CONNECTIONS: "lots" }, names: /SHOAL_PEER_WORKER_MAX_CONNECTIONS/ },
    { what: "an S3 tuning setting out of range", args: ["storage-writer"], env: { SHOAL_S3_PART_SIZE_MIB: "2" }, names: /SHOAL_S3_PART_SIZE_MIB/ },
    { what: "a misspelt S3 setting", args: ["peer-worker"], env: { SHOAL_S3_FILL_BUFFER: "64" }, names: /SHOAL_S3_FILL_BUFFER\b/ },
    { what: "a --port out of range", args: ["peer-worker", "--port", "70000"], env: {}, names: /--port.*70000/ },
    { what: "--port for a service that has no peer port", args: ["piece-verifier", "--port", "6881"], env: {}, names: /--port/ },
    { what: "an unknown --log-level", args: ["peer-worker", "--log-level", "loud"], env: {}, names: /--log-level.*loud/ },
    { what: "an unknown SHOAL_LOG_LEVEL", args: ["tracker-poller"], env: { SHOAL_LOG_LEVEL: "verbose" }, names: /SHOAL_LOG_LEVEL.*verbose/ },
    { what: "a SHOAL_CONNECT_WAIT_SECONDS that is no number", args: ["piece-verifier"], env: { SHOAL_CONNECT_WAIT_SECONDS: "soon" }, names: /SHOAL_CONNECT_WAIT_SECONDS.*soon/ },
    { what: "an unknown flag", args: ["peer-worker", "--redis-url", "redis://127.0.0.1:1"], env: {}, names: /--redis-url/ },
  ];
  for (const c of cases) {
    it(`${c.what}: exit status 2 and one line that names it`, async () => {
      const r = await runCli(["service", ...c.args], 20_000, { ...reachable, ...c.env });
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toMatch(c.names);
      expect(r.stdout).toBe("");
    });
  }

  it("an unreachable Redis ends the service with one line naming it once the connect wait is over", async () => {
    const port = await freePort();
    const started = performance.now();
    const r = await runCli(["service", "piece-verifier"], 30_000, { ...reachable, SHOAL_REDIS_URL: `redis://127.0.0.1:${port}`, SHOAL_CONNECT_WAIT_SECONDS: "2" });
    const seconds = (performance.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(1);
    // Within the first seconds of waiting nothing is logged: the error is all there is.
    const line = oneLine(r.stderr);
    expect(line).toMatch(new RegExp(`Redis.*127\\.0\\.0\\.1:${port}`));
    expect(line).toMatch(/refused/i);
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(12);
  });
});

describe.concurrent("status and cancel against a Redis nobody listens on", () => {
  for (const args of [["status"], ["status", "some-job", "--json"], ["cancel", "some-job"]]) {
    it(`shoal ${args.join(" ")}: one line naming the address and the cause, within seconds`, async () => {
      const port = await freePort();
      const started = performance.now();
      const r = await runCli(args, 30_000, { ...NO_CLUSTER, SHOAL_REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(performance.now() - started).toBeLessThan(15_000);
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r.stderr)).toBe(`shoal: cannot reach Redis at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
      expect(r.stdout).toBe("");
    });
  }
});

describe("cluster commands as processes against Redis, NATS, S3 and real seeds", () => {
  let backends: ClusterBackends;
  /** A quick three-file torrent. */
  let quick: Swarm;
  /**
   * A torrent whose only peer lacks the first 5 MiB of b.bin, so a job of it runs until it is
   * cancelled. With 5 MiB parts, a.bin (5 MiB + 64 KiB) uploads both its parts and b.bin its
   * one-piece last part: two multipart uploads stay open, waiting for the torrent to complete.
   * The three small files are single PUTs, complete as soon as their pieces are there.
   */
  let stuck: Swarm;
  let partialSeed: LibtorrentPeer;
  let dir: string;
  let poller: ServiceRun;
  let writer: ServiceRun;
  let worker: ServiceRun;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-cluster-cli-"));
    [backends, quick, stuck] = await Promise.all([
      startClusterBackends({ env: { SHOAL_S3_PART_SIZE_MIB: "5" } }),
      startSwarm({
        payload: {
          name: "quick-set",
          seed: "cluster-cli-quick",
          files: [
            { path: "a.bin", size: 300_000 },
            { path: "b.bin", size: 200_001 },
            { path: "c.txt", size: 5_000 },
          ],
        },
        pieceLength: 64 * KiB,
        tracker: "http",
        seeds: 1,
      }),
      startSwarm({
        payload: {
          name: "stuck-set",
          seed: "cluster-cli-stuck",
          files: [
            { path: "a.bin", size: 5 * MiB + 64 * KiB },
            { path: "b.bin", size: 5 * MiB + 64 * KiB },
            { path: "s1.txt", size: 40_000 },
            { path: "s2.txt", size: 90_000 },
            { path: "s3.txt", size: 30_000 },
          ],
        },
        pieceLength: 64 * KiB,
        tracker: "http",
        seeds: 0,
      }),
    ]);
    partialSeed = await startPartialSeed(stuck, { path: "stuck-set/b.bin", zeroedBytes: 5 * MiB });
    poller = backends.startService("tracker-poller");
    writer = backends.startService("storage-writer");
    worker = backends.startService("peer-worker");
    const verifier = backends.startService("piece-verifier");
    await Promise.all([poller.ready, writer.ready, worker.ready, verifier.ready]);
  }, 240_000);

  afterAll(async () => {
    await backends?.close();
    await Promise.allSettled([quick?.close(), partialSeed?.stop(), stuck?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const statusOf = async (jobId: string): Promise<Record<string, unknown>> => {
    const r = await backends.shoal(["status", jobId, "--json"], 30_000);
    expect(r.code, r.stderr).toBe(0);
    // Every answer has the documented shape (docs/STATUS-JSON.md), nothing more.
    statusJobSchema.parse(r.events[0]);
    return r.events[0]!;
  };

  it("status of a cluster without jobs says so", async () => {
    // Database 7 of the same Redis: a queue nobody used yet.
    const r = await backends.shoal(["status", "--redis", `${backends.redis.url}/7`], 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("no jobs\n");
    const json = await backends.shoal(["status", "--json", "--redis", `${backends.redis.url}/7`], 30_000);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe("[]\n");
  });

  it("a service whose NATS is a closed port ends with one line naming it, within the connect wait", async () => {
    const port = await freePort();
    const started = performance.now();
    const r = await backends.shoal(["service", "peer-worker", "--port", "0"], 30_000, { SHOAL_NATS_URL: `nats://127.0.0.1:${port}`, SHOAL_CONNECT_WAIT_SECONDS: "2" });
    const seconds = (performance.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(1);
    // Within the first seconds of waiting nothing is logged: the error is all there is.
    const line = oneLine(r.stderr);
    expect(line).toMatch(new RegExp(`NATS.*127\\.0\\.0\\.1:${port}`));
    expect(seconds).toBeLessThan(12);
  });

  it("/metrics serves Prometheus text; /healthz turns 503 while NATS or Redis is down and 200 again once it is back", async () => {
    // A Redis and a NATS of its own, so killing them leaves the rest of the cluster alone.
    const [redis, nats] = await Promise.all([startRedisServer(), startNatsServer()]);
    const w = backends.startService("peer-worker", { SHOAL_REDIS_URL: redis.url, SHOAL_NATS_URL: nats.url });
    try {
      const port = await w.ready;
      expect(jsonLogs(w.stderr()).find((l) => l["op"] === "service.start")?.["metricsPort"]).toBe(port);
      const metrics = await opsGet(port, "/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(metrics.body).toMatch(/^# TYPE shoal_up gauge$/m);
      expect(metricValue(metrics.body, "shoal_up", { service: "peer-worker" })).toBe(1);
      expect(metricValue(metrics.body, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(metricValue(metrics.body, "process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(metricValue(metrics.body, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
      expect(metrics.body).toMatch(/^# TYPE shoal_peer_connections gauge$/m);
      expect(metrics.body).toMatch(/^# TYPE shoal_downloaded_bytes_total counter$/m);
      expect(metrics.body).toMatch(/^# TYPE shoal_s3_requests_total counter$/m);
      expect((await opsGet(port, "/nothing")).status).toBe(404);

      const health = async () => {
        const h = await opsGet(port, "/healthz");
        return { status: h.status, report: JSON.parse(h.body) as unknown };
      };
      expect(await health()).toEqual({ status: 200, report: { ok: true, checks: { redis: true, nats: true } } });
      const until = async (status: number, what: string) => {
        let last: Awaited<ReturnType<typeof health>> | undefined;
        await waitFor(async () => (last = await health()).status === status, { timeoutMs: 20_000, what, intervalMs: 200, describe: () => JSON.stringify(last) });
        return last!.report;
      };

      await nats.kill9();
      expect(await until(503, "/healthz to report 503 with NATS down")).toEqual({ ok: false, checks: { redis: true, nats: false } });
      // The process stays up and keeps answering while its backend is away.
      expect((await opsGet(port, "/metrics")).status).toBe(200);
      await nats.restart();
      expect(await until(200, "/healthz to report 200 after NATS restarted")).toEqual({ ok: true, checks: { redis: true, nats: true } });

      await redis.kill9();
      expect(await until(503, "/healthz to report 503 with Redis down")).toEqual({ ok: false, checks: { redis: false, nats: true } });
      await redis.restart();
      expect(await until(200, "/healthz to report 200 after Redis restarted")).toEqual({ ok: true, checks: { redis: true, nats: true } });
      expect(w.child.exitCode).toBe(null);
    } finally {
      w.child.kill("SIGTERM");
      await w.exited;
      await Promise.allSettled([nats.stop(), redis.stop()]);
    }
  }, 90_000);

  it("SIGTERM drains a peer-worker and it exits 0 within seconds; a busy --port falls back to a free one, said in the log", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "0.0.0.0", resolve));
    const busy = (blocker.address() as { port: number }).port;
    let idle: Socket | undefined;
    try {
      const w = backends.startService("peer-worker", {}, ["--port", String(busy)]);
      await w.ready;
      expect(w.stderr()).toMatch(/port in use; listening on a free port instead/);
      const start = jsonLogs(w.stderr()).find((l) => l["op"] === "service.start");
      const peerPort = Number(start?.["peerPort"]);
      expect(peerPort).toBeGreaterThan(0);
      expect(peerPort).not.toBe(busy);
      // A peer that connected and never sent its handshake must not hold the drain up.
      idle = connect(peerPort, "127.0.0.1");
      await new Promise<void>((resolve, reject) => idle!.once("connect", resolve).once("error", reject));

      const started = performance.now();
      w.child.kill("SIGTERM");
      const exit = await w.exited;
      const seconds = (performance.now() - started) / 1000;
      expect(exit, w.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
      expect(seconds).toBeLessThan(5);
      expect(w.stderr()).toMatch(/peer-worker draining/);
      expect(w.stderr()).toMatch(/peer-worker stopped/);
    } finally {
      idle?.destroy();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it("submit prints only the job id, status JOB --json shows the job, it completes into the bucket, and cancel of it says it is done", async () => {
    const prefix = "quick/plain";
    const r = await backends.shoal(["submit", quick.torrentPath, "--to", `s3://${backends.bucket}/${prefix}`], 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\S+\n$/);
    const jobId = r.stdout.trim();

    const queued = await statusOf(jobId);
    expect(queued["id"]).toBe(jobId);
    expect(["waiting", "active", "completed"]).toContain(queued["state"]);
    expect((queued["data"] as Record<string, unknown>)["destination"]).toBe(`s3://${backends.bucket}/${prefix}`);
    // Status shows no torrent bytes, only what kind of source the job has.
    expect((queued["data"] as Record<string, unknown>)["source"]).toEqual({ kind: "torrent" });

    await waitFor(async () => (await statusOf(jobId))["state"] === "completed", { timeoutMs: 90_000, what: `job ${jobId} to complete`, intervalMs: 1000 });
    const got = await backends.objects(`${prefix}/`);
    expect(got).toEqual(expectedObjects(quick, prefix));

    // The writer counted the requests that put the objects there.
    const writerMetrics = (await opsGet(await writer.ready, "/metrics")).body;
    expect(metricValue(writerMetrics, "shoal_s3_requests_total", { op: "putObject", destination: `s3://${backends.bucket}/${prefix}` })).toBeGreaterThanOrEqual(3);
    expect(metricValue(writerMetrics, "shoal_pieces_stored_total")).toBeGreaterThan(0);
    // Every staged piece it held for its verdict was written or dropped.
    expect(metricValue(writerMetrics, "shoal_writer_awaiting_verdict_pieces")).toBe(0);
    expect(metricValue((await opsGet(await poller.ready, "/metrics")).body, "shoal_up")).toBe(1);

    const again = await backends.shoal(["cancel", jobId], 30_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`job ${jobId} already completed; nothing to cancel\n`);
    expect((await statusOf(jobId))["state"]).toBe("completed");
  }, 120_000);

  describe("a URL that serves something other than a torrent", () => {
    let page: Awaited<ReturnType<typeof serveBytes>>;
    beforeAll(async () => {
      page = await serveBytes("<!DOCTYPE html>\n<html><body>moved</body></html>\n");
    });
    afterAll(async () => page?.close());

    it("submit --json prints one queued event and nothing else", async () => {
      const r = await backends.shoal(["submit", page.url, "--to", `s3://${backends.bucket}/url/one`, "--json"], 30_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.events).toHaveLength(1);
      expect(r.events[0]).toEqual({ event: "queued", jobId: expect.any(String), destination: `s3://${backends.bucket}/url/one` });
    });

    it("submit --wait ends with exit status 2, naming the URL and what is wrong with it", async () => {
      const r = await backends.shoal(["submit", page.url, "--to", `s3://${backends.bucket}/url/two`, "--wait"], 60_000);
      expect(r.code, r.stderr).toBe(2);
      const jobId = r.stdout.split("\n")[0]!;
      const last = messageLines(r.stderr).at(-1) ?? "";
      expect(last).toContain(`job ${jobId} failed`);
      expect(last).toContain(page.url);
      expect(last).toMatch(/not a \.torrent/);
      expect(r.stderr).not.toMatch(STACK_FRAME);
      const info = await statusOf(jobId);
      expect(info["state"]).toBe("failed");
      // Bad input is not tried again.
      expect(info["attemptsMade"]).toBe(1);
    });
  });

  it("submit refuses bad input with exit status 2 and one line, before anything is queued", async () => {
    const notTorrent = join(dir, "notes.torrent");
    await writeFile(notTorrent, "just some notes\n");
    const closed = await freePort();
    const before = await backends.shoal(["status", "--json"], 30_000);
    const to = `s3://${backends.bucket}/refused`;
    const cases: { what: string; args: string[]; env?: NodeJS.ProcessEnv; names: RegExp }[] = [
      { what: "a file that is not a torrent", args: [notTorrent, "--to", to], names: /notes\.torrent.*not a \.torrent/ },
      { what: "a file that does not exist", args: [join(dir, "absent.torrent"), "--to", to], names: /absent\.torrent/ },
      { what: "a bucket that does not exist", args: [quick.torrentPath, "--to", "s3://missing-bucket/x"], names: /bucket missing-bucket does not exist/ },
      {
        what: "a bucket that does not exist, on the endpoint of AWS_ENDPOINT_URL",
        args: [quick.torrentPath, "--to", "s3://missing-bucket/x"],
        env: { SHOAL_S3_ENDPOINT: undefined, AWS_ENDPOINT_URL: backends.s3.endpoint },
        names: new RegExp(`bucket missing-bucket does not exist on ${backends.s3.endpoint}`),
      },
      { what: "a bucket name S3 does not allow", args: [quick.torrentPath, "--to", "s3://Bad_Bucket/x"], names: /"Bad_Bucket" is not a valid bucket name/ },
      { what: "an ftp:// destination", args: [quick.torrentPath, "--to", "ftp://host/x"], names: /ftp/ },
      { what: "no destination", args: [quick.torrentPath], names: /--to/ },
      { what: "a file index the torrent does not have", args: [quick.torrentPath, "--to", to, "--select", "99"], names: /file 99 does not exist.*3 file/ },
      { what: "a bad --select", args: [quick.torrentPath, "--to", to, "--select", "x-"], names: /--select/ },
      { what: "a wrong secret key", args: [quick.torrentPath, "--to", to], env: { AWS_SECRET_ACCESS_KEY: "not-the-secret" }, names: /refused the credentials.*AWS_SECRET_ACCESS_KEY/ },
      { what: "no access key", args: [quick.torrentPath, "--to", to], env: { AWS_ACCESS_KEY_ID: undefined }, names: /AWS_ACCESS_KEY_ID/ },
    ];
    for (const c of cases) {
      const r = await backends.shoal(["submit", ...c.args], 30_000, c.env);
      expect(r.code, `${c.what}: ${r.stderr}`).toBe(2);
      expect(oneLine(r.stderr), c.what).toMatch(c.names);
      expect(r.stdout, c.what).toBe("");
    }

    // An S3 endpoint nobody listens on: one line, quickly, not a hang.
    const started = performance.now();
    const r = await backends.shoal(["submit", quick.torrentPath, "--to", to], 30_000, { SHOAL_S3_ENDPOINT: `http://127.0.0.1:${closed}` });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(r.code, r.stderr).not.toBe(0);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed}.*unreachable|unreachable.*127\\.0\\.0\\.1:${closed}`));

    const after = await backends.shoal(["status", "--json"], 30_000);
    expect(after.stdout).toBe(before.stdout);
  }, 120_000);

  it("status lists every job with its state; an unknown job is exit status 2 for status and cancel", async () => {
    const listed = await backends.shoal(["status"], 30_000);
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split("\n");
    const json = await backends.shoal(["status", "--json"], 30_000);
    const jobs = json.events[0] as unknown as { id: string; state: string }[];
    for (const job of jobs) statusJobSchema.parse(job);
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    expect(jobs.map((j) => j.state)).toEqual(expect.arrayContaining(["completed", "failed"]));
    expect(lines).toHaveLength(jobs.length);
    for (const job of jobs) expect(lines.find((l) => l.startsWith(`${job.id} `)), job.id).toContain(job.state);

    const status = await backends.shoal(["status", "no-such-job"], 30_000);
    expect(status.code, status.stderr).toBe(2);
    expect(oneLine(status.stderr)).toMatch(/no-such-job/);
    const cancel = await backends.shoal(["cancel", "no-such-job"], 30_000);
    expect(cancel.code, cancel.stderr).toBe(2);
    expect(oneLine(cancel.stderr)).toMatch(/no-such-job/);
  });

  it("cancel of a running job ends its submit --wait with a failure, aborts its multipart uploads, keeps finished objects and leaves it failed", async () => {
    const prefix = "stuck/cancelled";
    const second = backends.startService("peer-worker");
    await second.ready;
    const waiting = startCli(["submit", stuck.torrentPath, "--to", `s3://${backends.bucket}/${prefix}`, "--wait", "--json"], backends.env);
    try {
      await waitFor(() => waiting.events.some((e) => e["event"] === "queued"), { timeoutMs: 30_000, what: "the queued event" });
      const jobId = String(waiting.events.find((e) => e["event"] === "queued")!["jobId"]);
      // Everything the peer has is in: two uploads open, the three small files finished.
      const small = ["s1.txt", "s2.txt", "s3.txt"].map((f) => `${prefix}/stuck-set/${f}`);
      await waitFor(
        async () =>
          (await backends.s3.listMultipartUploads(backends.bucket, `${prefix}/`)).length === 2 &&
          (await backends.s3.listObjects(backends.bucket, `${prefix}/`)).length === small.length,
        { timeoutMs: 90_000, what: "two open multipart uploads and three finished objects", intervalMs: 250 },
      );
      const finished = await backends.s3.listObjects(backends.bucket, `${prefix}/`);
      expect(finished.map((o) => o.key).sort()).toEqual(small);
      await waitFor(async () => ((await statusOf(jobId))["progress"] as { workers?: unknown[] } | undefined)?.workers?.length === 2, {
        timeoutMs: 30_000,
        what: "both workers in the job's progress",
        intervalMs: 500,
      });

      // While it runs: the workers' connections in their metrics (the one peer is connected by
      // one of them: the cluster's peer registry gives each peer to one worker), and the job in status.
      let connections = 0;
      for (const w of [worker, second]) {
        const metrics = (await opsGet(await w.ready, "/metrics")).body;
        connections += metricValue(metrics, "shoal_peer_connections", { torrent: stuck.infoHashHex }) ?? 0;
      }
      expect(connections).toBe(1);
      const text = await backends.shoal(["status", jobId], 30_000);
      expect(text.code, text.stderr).toBe(0);
      const shown = text.stdout;
      expect(shown).toMatch(new RegExp(`^job ${jobId}: active$`, "m"));
      expect(shown).toMatch(/^pieces by state: missing \d+, claimed \d+, staged \d+, verified \d+, stored \d+, skipped 0$/m);
      expect(shown).toMatch(/^rate: \S+ \S*\/s down, .* ETA \S+, peers \d+$/m);
      expect(shown).toMatch(/^workers: 2$/m);
      expect(shown).toMatch(/^ {2}worker-[0-9a-f]+: downloaded .*, peers \d+$/m);
      // The downloaded bytes are the workers' own: together at least what was stored.
      const progress = (await statusOf(jobId))["progress"] as { storedBytes: number; workers: { downloadedBytes: number }[] };
      expect(progress.workers.reduce((n, w) => n + w.downloadedBytes, 0)).toBeGreaterThanOrEqual(progress.storedBytes);

      // A worker stopped mid-download drains and exits 0; the other carries on.
      const stopping = performance.now();
      second.child.kill("SIGTERM");
      expect(await second.exited, second.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
      expect(performance.now() - stopping).toBeLessThan(5_000);

      const cancel = await backends.shoal(["cancel", jobId], 30_000);
      expect(cancel.code, cancel.stderr).toBe(0);
      expect(cancel.stdout).toBe(`job ${jobId} cancelled\n`);

      const exit = await waiting.exited;
      expect(exit.code, waiting.stderr()).toBe(1);
      expect(waiting.events.at(-1)).toMatchObject({ event: "failed", jobId });
      expect(waiting.stderr()).toMatch(new RegExp(`job ${jobId} failed: job ${jobId} cancelled`));

      await waitFor(async () => (await backends.s3.listMultipartUploads(backends.bucket, `${prefix}/`)).length === 0, {
        timeoutMs: 15_000,
        what: "no multipart upload left under the prefix",
        intervalMs: 250,
      });
      const info = await statusOf(jobId);
      expect(info["state"]).toBe("failed");
      expect(info["failedReason"]).toBe(`job ${jobId} cancelled`);
      // The finished files stay as they were; the unfinished ones never became objects.
      expect(await backends.s3.listObjects(backends.bucket, `${prefix}/`)).toEqual(finished);
      for (const key of small) {
        const want = expectedObjects(stuck, prefix).get(key)!;
        expect((await backends.objects(key)).get(key), key).toEqual(want);
      }
      expect(await backends.s3.listMultipartUploads(backends.bucket, `${prefix}/`)).toEqual([]);
      expect(worker.child.exitCode).toBe(null);
    } finally {
      if (waiting.child.exitCode === null) waiting.child.kill("SIGKILL");
    }
  }, 180_000);
});
