import { readFile } from "node:fs/promises";
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliRun } from "./cli-process.js";
import { expectedObjects, startClusterBackends, type ClusterBackends } from "./cluster-kit.js";
import { EventStreamClient, pieceBytes, startDashboardProcess, type JobEvent, type PiecesEvent } from "./dashboard-kit.js";
import { startSwarm, type Swarm } from "./swarm.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** PIECE_STATE_CODE.stored, and the first code of a claim by a worker. */
const STORED = 4;
const CLAIMED_BY_BASE = 16;
const QUICK_FILES = [
  { path: "a.bin", size: 2 * MiB + 5_000 },
  { path: "b.txt", size: MiB - 3_000 },
];
const QUICK_PIECE_BYTES = 32 * KiB;
const QUICK_PIECES = Math.ceil(QUICK_FILES.reduce((n, f) => n + f.size, 0) / QUICK_PIECE_BYTES);

describe("shoal dashboard over HTTP and server-sent events, against a real cluster", () => {
  let backends: ClusterBackends;
  /** 3 MiB in two files: submitted with a rate limit, so its progress shows in steps. */
  let quick: Swarm;
  /** Another torrent, limited to a crawl so it is still running when it is cancelled. */
  let slow: Swarm;
  let dashboard: { run: CliRun; url: string };
  let stream: EventStreamClient;

  beforeAll(async () => {
    [backends, quick, slow] = await Promise.all([
      startClusterBackends({ env: { SHOAL_S3_PART_SIZE_MIB: "5" } }),
      startSwarm({
        payload: { name: "dash-quick", seed: "dashboard-quick", files: QUICK_FILES },
        pieceLength: QUICK_PIECE_BYTES,
        tracker: "http",
        seeds: 1,
      }),
      startSwarm({ payload: { name: "dash-slow.bin", seed: "dashboard-slow", size: 4 * MiB }, pieceLength: 32 * KiB, tracker: "http", seeds: 1 }),
    ]);
    const services = (["tracker-poller", "storage-writer", "peer-worker", "piece-verifier"] as const).map((n) => backends.startService(n));
    await Promise.all(services.map((s) => s.ready));
    dashboard = await startDashboardProcess(backends.env);
    stream = await EventStreamClient.open(`${dashboard.url}events`);
  }, 240_000);

  afterAll(async () => {
    await stream?.close();
    dashboard?.run.child.kill("SIGTERM");
    if (dashboard) expect((await dashboard.run.exited).code).toBe(0);
    await backends?.close();
    await Promise.allSettled([quick?.close(), slow?.close()]);
  }, 60_000);

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(path, dashboard.url), {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const torrentOf = async (swarm: Swarm) => ({ name: "test.torrent", base64: (await readFile(swarm.torrentPath)).toString("base64") });

  it("serves the page with a policy that runs only its own scripts, and logs its URL", async () => {
    const res = await fetch(dashboard.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(await res.text()).toMatch(/<script src="app.js" defer><\/script>/);
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(dashboard.run.stderr()).toContain(`"url":"${dashboard.url}"`);
    const first = await stream.until<{ redis: boolean; nats: boolean }>("backends", (b) => b.redis && b.nats, 20_000, "both backends up");
    expect(first).toEqual({ redis: true, nats: true });
  });

  it("refuses what shoal submit refuses, with the same one line, and requests from other sites", async () => {
    const to = `s3://${backends.bucket}/dash-bad`;
    const torrent = await torrentOf(quick);
    const cases: { body: unknown; error: RegExp }[] = [
      { body: { torrent }, error: /^--to s3:\/\/BUCKET\/PREFIX is required$/ },
      { body: { torrent, to, select: "x-" }, error: /^--select: "x-" is not a file index/ },
      { body: { torrent, to, select: "99" }, error: /^file selection: .*file 99 does not exist/ },
      { body: { torrent, to, maxDownloadRate: "fast" }, error: /^--max-download-rate: "fast" is not a rate/ },
      { body: { torrent: { name: "junk.torrent", base64: Buffer.from("not bencode").toString("base64") }, to }, error: /^junk\.torrent: / },
      { body: { torrent, to: "s3://no-such-bucket-here/x" }, error: /bucket no-such-bucket-here does not exist/ },
      { body: { torrent, to: "ftp://host/x" }, error: /unsupported scheme "ftp:"/ },
      { body: { url: "magnet:?dn=no-hash", to }, error: /^magnet link: no xt=urn:btih: parameter/ },
      { body: { to }, error: /^choose a \.torrent file or give an http\(s\) URL of one$/ },
      { body: { torrent, url: "http://127.0.0.1:1/x.torrent", to }, error: /not both/ },
    ];
    for (const c of cases) {
      const r = await post("/api/jobs", c.body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body["error"]).toMatch(c.error);
      expect(r.body["error"]).not.toMatch(/\n/);
    }
    // The same check, the same words: the CLI's line is the page's plus the pointer to --help.
    const cli = await runCli(["submit", quick.torrentPath, "--to", to, "--select", "x-"], 30_000, backends.env);
    const page = await post("/api/jobs", { torrent, to, select: "x-" });
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim()).toBe(`shoal: ${page.body["error"]} (shoal submit --help lists the options)`);

    expect((await post("/api/jobs", { torrent, to }, { origin: "http://evil.example" })).status).toBe(403);
    expect((await post("/api/jobs", "to=x", { "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
    expect((await post("/api/jobs/no-such-job/cancel", {})).status).toBe(404);
    // Nothing above was queued.
    expect(stream.of<JobEvent[]>("jobs").flat()).toEqual([]);
  });

  it("a job submitted through the API shows its progress live, ends at 100 % with every piece stored, and its bytes are in the bucket", async () => {
    const prefix = "dash-api";
    // 512 KiB/s over 3 MiB: about six seconds, several refreshes of the stream.
    const r = await post("/api/jobs", { torrent: await torrentOf(quick), to: `s3://${backends.bucket}/${prefix}`, maxDownloadRate: "512K" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const jobId = r.body["jobId"]!;
    expect(r.body["destination"]).toBe(`s3://${backends.bucket}/${prefix}`);

    const jobOf = (list: JobEvent[]) => list.find((j) => j.id === jobId);
    const midway = await stream.until<JobEvent[]>("jobs", (l) => jobOf(l)?.state === "active" && (jobOf(l)?.percent ?? 0) > 0 && (jobOf(l)?.percent ?? 100) < 100, 60_000, "the job running, part done");
    expect(jobOf(midway)!.name).toBe("dash-quick");
    const done = await stream.until<JobEvent[]>("jobs", (l) => jobOf(l)?.state === "completed", 120_000, "the job completed");
    expect(jobOf(done)).toMatchObject({ percent: 100, storedPieces: QUICK_PIECES, pieces: QUICK_PIECES, cancellable: false });
    // Progress went up in steps, never down.
    const percents = stream.of<JobEvent[]>("jobs").map((l) => jobOf(l)?.percent).filter((p): p is number => p !== undefined);
    expect(new Set(percents).size).toBeGreaterThanOrEqual(3);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    const maps = () => stream.of<PiecesEvent>("pieces").filter((p) => p.jobId === jobId);
    const final = await stream.until<PiecesEvent>("pieces", (p) => p.jobId === jobId && p.counts["stored"] === QUICK_PIECES, 30_000, "a map of every piece stored");
    expect(final.pieces).toBe(QUICK_PIECES);
    expect([...pieceBytes(final)].every((b) => b === STORED)).toBe(true);
    // While it ran, claims were drawn by the worker holding them.
    const claimed = maps().find((m) => [...pieceBytes(m)].some((b) => b >= CLAIMED_BY_BASE));
    expect(claimed, "a map with claims by a worker").toBeDefined();
    expect(claimed!.workers).toHaveLength(1);
    expect(claimed!.workers[0]).toMatch(/\S/);
    // Maps are sent only when they change: fewer than one per refresh while it ran.
    expect(new Set(maps().map((m) => m.data)).size).toBe(maps().length);
    // Workers were shown with their peers and rates, from NATS.
    const workers = stream.of<{ source: string; workers: { workerId: string; peers: number; downloadRateBytesPerSec: number }[] }>("workers");
    expect(workers.some((w) => w.source === "nats" && w.workers.some((x) => x.workerId === claimed!.workers[0] && x.peers >= 1 && x.downloadRateBytesPerSec > 0))).toBe(true);

    expect(await backends.objects(prefix)).toEqual(expectedObjects(quick, prefix));
  }, 180_000);

  it("cancel stops a running job as shoal cancel does", async () => {
    const r = await post("/api/jobs", { torrent: await torrentOf(slow), to: `s3://${backends.bucket}/dash-slow`, maxDownloadRate: "64K" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const jobId = r.body["jobId"]!;
    const jobOf = (list: JobEvent[]) => list.find((j) => j.id === jobId);
    await stream.until<JobEvent[]>("jobs", (l) => jobOf(l)?.state === "active" && jobOf(l)?.cancellable === true, 60_000, "the slow job running");
    const cancel = await post(`/api/jobs/${jobId}/cancel`, {});
    expect(cancel).toEqual({ status: 200, body: { message: `job ${jobId} cancelled` } });
    const ended = await stream.until<JobEvent[]>("jobs", (l) => jobOf(l)?.state === "failed", 60_000, "the cancelled job failed");
    expect(jobOf(ended)).toMatchObject({ failedReason: `job ${jobId} cancelled`, cancellable: false });
    expect(await post(`/api/jobs/${jobId}/cancel`, {})).toEqual({ status: 200, body: { message: `job ${jobId} already failed; nothing to cancel` } });
    const cli = await runCli(["status", jobId, "--json"], 30_000, backends.env);
    expect(JSON.parse(cli.stdout)).toMatchObject({ state: "failed", failedReason: `job ${jobId} cancelled` });
  }, 120_000);

  it("shows NATS and Redis going away and coming back, and keeps serving meanwhile", async () => {
    type Backends = { redis: boolean; nats: boolean; error?: string };
    const since = () => {
      const start = stream.of<Backends>("backends").length;
      return (pred: (b: Backends) => boolean) => stream.of<Backends>("backends").slice(start).some(pred);
    };
    const wait = (what: string, pred: (b: Backends) => boolean, seen: (p: (b: Backends) => boolean) => boolean) =>
      waitFor(() => seen(pred), { timeoutMs: 60_000, what, intervalMs: 200, describe: () => JSON.stringify(stream.of<Backends>("backends").slice(-3)) });

    let seen = since();
    await backends.nats.kill9();
    await wait("NATS shown down", (b) => !b.nats && b.redis, seen);
    expect((await fetch(dashboard.url)).status).toBe(200);
    seen = since();
    await backends.nats.restart();
    await wait("NATS shown up again", (b) => b.nats && b.redis, seen);

    seen = since();
    await backends.redis.kill9();
    await wait("Redis shown down", (b) => !b.redis, seen);
    const refused = await post("/api/jobs", { torrent: await torrentOf(quick), to: `s3://${backends.bucket}/dash-down` });
    expect(refused.status).toBe(503);
    seen = since();
    await backends.redis.restart();
    await wait("Redis shown up again", (b) => b.redis && b.nats && b.error === undefined, seen);
  }, 180_000);
});
