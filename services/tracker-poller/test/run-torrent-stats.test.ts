import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encode, type Encodable } from "@shoal/bencode";
import { MemoryBus, MemoryCatalog, MemoryClaimTable, MemoryJobQueue, type JobProgress } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
import { pollerConfigSchema, start } from "../src/index.js";
import { startHttpServer, waitUntil, type FakeHttpServer } from "./trackers-helpers.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A two-piece single-file torrent announcing to `announce`. */
function torrentBytes(announce: string): { bytes: Buffer; infoHash: string } {
  const piece = Buffer.alloc(16 * 1024, 7);
  const pieces = Buffer.concat([createHash("sha1").update(piece).digest(), createHash("sha1").update(piece).digest()]);
  const info = new Map<string, Encodable>([
    ["length", 32 * 1024],
    ["name", Buffer.from("stats.bin")],
    ["piece length", 16 * 1024],
    ["pieces", pieces],
  ]);
  const infoBytes = Buffer.from(encode(info));
  const bytes = Buffer.from(encode(new Map<string, Encodable>([["announce", Buffer.from(announce)], ["info", info]])));
  return { bytes, infoHash: createHash("sha1").update(infoBytes).digest("hex") };
}

describe("the torrent owner reports what the workers really moved", () => {
  it("sums workers' swarm_stats into job progress and into the tracker's uploaded and downloaded", async () => {
    const tracker: FakeHttpServer = await startHttpServer((_req, res) => {
      res.end(Buffer.from(encode(new Map<string, Encodable>([["interval", 1800], ["peers", Buffer.alloc(0)]]))));
    });
    cleanup.push(() => tracker.close());
    const dir = await mkdtemp(join(tmpdir(), "shoal-poller-stats-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { bytes, infoHash } = torrentBytes(`${tracker.base}/announce`);
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const queue = new MemoryJobQueue();
    const store = new FsObjectStore(dir);
    const poller = await start(pollerConfigSchema.parse({ progressIntervalMs: 50, announcePort: 6881 }), {
      queue,
      claims,
      bus,
      store,
      catalog: new MemoryCatalog(),
      logger: silentLogger(),
    });
    cleanup.push(async () => {
      await poller.stop();
      await queue.close();
      await bus.close();
      await store.close();
    });
    const progress: JobProgress[] = [];
    queue.on({ progress: (_id, p) => void progress.push(p) });
    const started = new Promise<void>((resolve) => void bus.subscribe("torrent_started", infoHash, () => resolve()));
    const jobId = await queue.add({ source: { kind: "torrent", base64: bytes.toString("base64") }, destination: dir });
    await started;

    const stats = { infoHash, peers: 0, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, downloadedBytes: 0, uploadedBytes: 0 };
    await bus.publish("swarm_stats", { ...stats, workerId: "w1", peers: 3, downloadRateBytesPerSec: 1000, downloadedBytes: 20_000, uploadedBytes: 700 });
    await bus.publish("swarm_stats", { ...stats, workerId: "w2", peers: 2, uploadRateBytesPerSec: 50, downloadedBytes: 15_000, uploadedBytes: 77 });
    await waitUntil(() => progress.some((p) => p.peers === 5), "progress with both workers' peers");
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ peers: 5, downloadRateBytesPerSec: 1000, uploadRateBytesPerSec: 50, downloadedBytes: 35_000, uploadedBytes: 777 });

    // Both pieces stored: the job completes and the `completed` announce carries the totals.
    const w = "w1";
    await claims.heartbeat(infoHash, w, 60_000);
    for (const c of await claims.claim(infoHash, w, [0, 1], 2)) {
      await claims.stage(infoHash, w, c);
      await claims.verify(infoHash, c);
      await claims.store(infoHash, c);
      await bus.publish("piece_stored", { infoHash, piece: c.piece, attempt: c.attempt });
    }
    // The writer's part: it answers the request to make the files final.
    await bus.subscribe("torrent_complete", infoHash, (m) => bus.publish("torrent_finalized", { infoHash: m.infoHash }), { group: "storage-writer" });
    const result = await queue.waitUntilFinished(jobId);
    expect(result.uploadedBytes).toBe(777);
    const completed = tracker.requests.find((u) => u.includes("event=completed"));
    expect(completed, tracker.requests.join("\n")).toBeDefined();
    const q = new URLSearchParams(completed!.slice(completed!.indexOf("?") + 1));
    expect(q.get("uploaded")).toBe("777");
    expect(q.get("downloaded")).toBe("35000");
    expect(q.get("left")).toBe("0");
  });
});
