import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encode, type Encodable } from "@shoal/bencode";
import { MemoryBus, MemoryCatalog, MemoryClaimTable, MemoryJobQueue } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
import { pollerConfigSchema, start } from "../src/index.js";
import { startHttpServer, waitUntil } from "./trackers-helpers.js";

/** Short, so the case sees several repeats in a fraction of a second. */
const REPEAT_SECONDS = 0.05;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe("the torrent owner tells workers that start later about the torrent", () => {
  it("repeats torrent_started while the torrent runs, and sends none after torrent_finished", async () => {
    const tracker = await startHttpServer((_req, res) => {
      res.end(Buffer.from(encode(new Map<string, Encodable>([["interval", 1800], ["peers", Buffer.alloc(0)]]))));
    });
    cleanup.push(() => tracker.close());
    const dir = await mkdtemp(join(tmpdir(), "shoal-poller-started-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const piece = Buffer.alloc(16 * 1024, 3);
    const info = new Map<string, Encodable>([
      ["length", piece.length],
      ["name", Buffer.from("started.bin")],
      ["piece length", piece.length],
      ["pieces", createHash("sha1").update(piece).digest()],
    ]);
    const infoHash = createHash("sha1").update(encode(info)).digest("hex");
    const bytes = Buffer.from(encode(new Map<string, Encodable>([["announce", Buffer.from(`${tracker.base}/announce`)], ["info", info]])));
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const queue = new MemoryJobQueue();
    const store = new FsObjectStore(dir);
    const poller = await start(pollerConfigSchema.parse({ startedRepeatSeconds: REPEAT_SECONDS, announcePort: 6881 }), {
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
    const seen: string[] = [];
    await bus.subscribe("torrent_started", infoHash, (m) => void seen.push(m.repeat === true ? "repeat" : "started"));
    await bus.subscribe("torrent_finished", infoHash, () => void seen.push("finished"));
    const jobId = await queue.add({ source: { kind: "torrent", base64: bytes.toString("base64") }, destination: dir });
    await waitUntil(() => seen.filter((s) => s === "repeat").length >= 3, "three repeats of torrent_started");
    expect(seen[0]).toBe("started");

    await claims.heartbeat(infoHash, "w", 60_000);
    for (const c of await claims.claim(infoHash, "w", [0], 1)) {
      await claims.stage(infoHash, "w", c);
      await claims.verify(infoHash, c);
      await claims.store(infoHash, c);
      await bus.publish("piece_stored", { infoHash, piece: c.piece, attempt: c.attempt });
    }
    // The writer's part: it answers the request to make the files final.
    await bus.subscribe("torrent_complete", infoHash, (m) => bus.publish("torrent_finalized", { infoHash: m.infoHash }), { group: "storage-writer" });
    await queue.waitUntilFinished(jobId);
    await waitUntil(() => seen.includes("finished"), "torrent_finished");
    // Absence has no event to wait for: four repeat periods pass, and nothing follows the end.
    const finishedAt = seen.indexOf("finished");
    await new Promise<void>((resolve) => setTimeout(resolve, REPEAT_SECONDS * 1000 * 4));
    await bus.drain();
    expect(seen.slice(finishedAt)).toEqual(["finished"]);
  });
});
