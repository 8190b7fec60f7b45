import { MemoryClaimTable, MemoryJobQueue, type ClaimTable, type JobInfo, type JobQueue } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { waitFor } from "@shoal/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterWatch, type DashboardEvent } from "../src/cluster-watch.js";
import { WorkerBoard } from "../src/worker-board.js";

const IH = "ab".repeat(20);
const PIECES = 1_000;

/** A queue with one running job of torrent IH that reports progress once. */
async function runningJob(): Promise<{ queue: MemoryJobQueue; stop: () => Promise<void> }> {
  const queue = new MemoryJobQueue();
  const worker = await queue.process(async (_data, ctx) => {
    await ctx.reportProgress({
      infoHash: IH,
      name: "t",
      totalBytes: PIECES * 16_384,
      storedBytes: 0,
      pieces: PIECES,
      storedPieces: 0,
      peers: 1,
      downloadRateBytesPerSec: 1_000,
      uploadRateBytesPerSec: 0,
      downloadedBytes: 0,
      uploadedBytes: 0,
    });
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    throw new Error("stopped");
  });
  await queue.add({ source: { kind: "url", url: "http://x/t.torrent" }, destination: "s3://b/p" });
  return { queue, stop: () => worker.close() };
}

describe("ClusterWatch", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  const watchOf = (queue: JobQueue, claims: ClaimTable) => {
    const watch = new ClusterWatch(
      { queue, claims, workers: new WorkerBoard(Date.now), health: () => ({ redis: true, nats: true }), logger: silentLogger(), now: Date.now },
      { refreshMs: 1_000, jobLimit: 50 },
    );
    cleanups.push(() => watch.stop());
    return watch;
  };

  it("reads each running job's pieces at most once a round whatever the number of clients, and sends a map only when it changed", async () => {
    const { queue, stop } = await runningJob();
    cleanups.push(stop);
    const claims = new MemoryClaimTable();
    await claims.createTorrent(IH, PIECES, []);
    let reads = 0;
    const counted = Object.assign(Object.create(claims) as ClaimTable, {
      pieces: async (ih: string) => {
        reads++;
        return claims.pieces(ih);
      },
    });
    const watch = watchOf(queue, counted);
    const seen: DashboardEvent[][] = [[], [], [], [], []];
    const started = Date.now();
    for (const s of seen) watch.subscribe((e) => s.push(e));
    await waitFor(() => seen[0]!.some((e) => e.type === "pieces"), { timeoutMs: 5_000, what: "a first map" });
    await claims.claim(IH, "worker-1", [5, 6, 7], 3);
    await waitFor(() => seen[0]!.filter((e) => e.type === "pieces").length === 2, { timeoutMs: 5_000, what: "the map after a claim" });
    await new Promise((r) => setTimeout(r, 2_500));
    const rounds = (Date.now() - started) / 1_000;
    // At most one read per started second (plus the first, at once).
    expect(reads).toBeLessThanOrEqual(Math.floor(rounds) + 1);
    expect(reads).toBeGreaterThanOrEqual(3);
    // Unchanged tables sent nothing more; every client got the same events.
    const maps = seen[0]!.filter((e) => e.type === "pieces").map((e) => JSON.parse(e.data) as { workers: string[]; counts: Record<string, number> });
    expect(maps).toHaveLength(2);
    expect(maps[1]!.workers).toEqual(["worker-1"]);
    expect(maps[1]!.counts["claimed"]).toBe(3);
    for (const s of seen) expect(s.map((e) => e.data)).toEqual(seen[0]!.map((e) => e.data));

    // A client joining later gets the current state at once, without a read of its own.
    const before = reads;
    const late: DashboardEvent[] = [];
    watch.subscribe((e) => late.push(e));
    expect(late.map((e) => e.type).sort()).toEqual(["backends", "jobs", "pieces", "workers"]);
    expect(late.find((e) => e.type === "pieces")!.data).toBe(seen[0]!.filter((e) => e.type === "pieces").at(-1)!.data);
    expect(reads).toBe(before);
  });

  it("shows Redis down while the job list cannot be read, keeps the last jobs, and recovers", async () => {
    const { queue, stop } = await runningJob();
    cleanups.push(stop);
    let down = false;
    const flaky = Object.assign(Object.create(queue) as JobQueue, {
      list: async (o?: { limit?: number }): Promise<JobInfo[]> => {
        if (down) throw new Error("cannot reach Redis at 127.0.0.1:1: connect ECONNREFUSED");
        return queue.list(o);
      },
    });
    const claims = new MemoryClaimTable();
    const watch = watchOf(flaky, claims);
    const events: DashboardEvent[] = [];
    watch.subscribe((e) => events.push(e));
    const last = (type: string) => JSON.parse(events.filter((e) => e.type === type).at(-1)?.data ?? "null") as Record<string, unknown> | null;
    await waitFor(() => last("backends")?.["redis"] === true, { timeoutMs: 5_000, what: "Redis up" });
    down = true;
    await waitFor(() => last("backends")?.["redis"] === false, { timeoutMs: 5_000, what: "Redis down" });
    expect(last("backends")?.["error"]).toMatch(/ECONNREFUSED/);
    expect(events.filter((e) => e.type === "jobs")).toHaveLength(1);
    down = false;
    await waitFor(() => last("backends")?.["redis"] === true, { timeoutMs: 5_000, what: "Redis up again" });
    // The table of a job whose owner has not built it yet is simply not drawn.
    expect(events.some((e) => e.type === "pieces")).toBe(false);
  });
});
