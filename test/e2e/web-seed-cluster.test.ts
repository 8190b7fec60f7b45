import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebSeedServer, type WebSeedServer } from "@shoal/testkit";
import { startClusterBackends, expectedObjects, type ClusterBackends } from "./cluster-kit.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;

/** Two peer-worker processes share one web seed's work through the claim table, into S3. */
describe("cluster: web seeds", () => {
  let backends: ClusterBackends;
  let swarm: Swarm;
  let mirror: WebSeedServer;

  beforeAll(async () => {
    [backends, swarm] = await Promise.all([
      startClusterBackends(),
      startSwarm({
        payload: {
          name: "ws-cluster",
          seed: "ws-cluster-e2e",
          files: [
            { path: "a.bin", size: 20 * MiB + 5 },
            { path: "d/b.bin", size: 12 * MiB + 777 },
            { path: "c.txt", size: 4_321 },
          ],
        },
        pieceLength: 256 * 1024,
        tracker: "http",
        // No BitTorrent seed: every byte comes from the mirror.
        seeds: 0,
      }),
    ]);
    // Each response at 1 MiB/s keeps the download going for several seconds, so both workers
    // have joined and claimed runs long before it ends.
    mirror = await startWebSeedServer({ root: join(swarm.dir, "data"), faults: { bytesPerSecond: 1 * MiB } });
  }, 180_000);

  afterAll(async () => {
    await mirror?.stop();
    await backends?.close();
    await swarm?.close();
  }, 60_000);

  it("two workers pull runs from one web seed in parallel and the bucket's bytes match", async () => {
    const services = [
      backends.startService("tracker-poller"),
      backends.startService("piece-verifier"),
      backends.startService("storage-writer"),
      // Requests of 1 MiB: each worker keeps several runs in flight over the torrent's 32 MiB.
      backends.startService("peer-worker", { SHOAL_PEER_WORKER_WEB_SEED_REQUEST_MIB: "1" }),
      backends.startService("peer-worker", { SHOAL_PEER_WORKER_WEB_SEED_REQUEST_MIB: "1" }),
    ];
    await Promise.all(services.map((s) => s.ready));
    const prefix = "ws/run1";
    const submitted = await backends.shoal(["submit", swarm.torrentPath, "--to", `s3://${backends.bucket}/${prefix}`, "--web-seed", mirror.url, "--wait", "--json"], 240_000);
    expect(submitted.code, submitted.stderr).toBe(0);

    const got = await backends.objects(`${prefix}/`);
    const want = expectedObjects(swarm, prefix);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    const wrong = [...want].filter(([key, w]) => got.get(key)?.sha256 !== w.sha256 || got.get(key)?.size !== w.size).map(([key]) => key);
    expect(wrong).toEqual([]);

    // Every byte came from the mirror, once: the workers never fetched a piece twice.
    expect(mirror.stats.bytesServed).toBe(swarm.payload.totalBytes);
    const jobId = String(submitted.events.find((e) => e["event"] === "queued")?.["jobId"]);
    const status = await backends.shoal(["status", jobId, "--json"], 30_000);
    const info = status.events[0] as { progress: { workers: { downloadedBytes: number }[] } };
    const shares = info.progress.workers.map((w) => w.downloadedBytes);
    expect(shares.length).toBe(2);
    for (const s of shares) expect(s).toBeGreaterThan(0);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(swarm.payload.totalBytes);
  }, 300_000);
});
