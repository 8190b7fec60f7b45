import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encode, type Encodable } from "@shoal/bencode";
import { MemoryBus, MemoryCatalog, MemoryClaimTable, type JobContext, type PieceCounts } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
import { pollerConfigSchema } from "../src/index.js";
import { runTorrent } from "../src/handlers/run-torrent.js";
import { startHttpServer, waitUntil } from "./trackers-helpers.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A two-piece single-file torrent announcing to `announce`. */
function torrentBytes(announce: string): { bytes: Buffer; infoHash: string } {
  const piece = Buffer.alloc(16 * 1024, 9);
  const pieces = Buffer.concat([createHash("sha1").update(piece).digest(), createHash("sha1").update(piece).digest()]);
  const info = new Map<string, Encodable>([
    ["length", 32 * 1024],
    ["name", Buffer.from("jobs.bin")],
    ["piece length", 16 * 1024],
    ["pieces", pieces],
  ]);
  const infoBytes = Buffer.from(encode(info));
  const bytes = Buffer.from(encode(new Map<string, Encodable>([["announce", Buffer.from(announce)], ["info", info]])));
  return { bytes, infoHash: createHash("sha1").update(infoBytes).digest("hex") };
}

/** One owner's run of a job, driven by the test: its context, and its end. */
interface OwnerRun {
  readonly ctx: JobContext;
  cancel(): void;
  readonly ended: Promise<unknown>;
}

async function setUp() {
  const tracker = await startHttpServer((_req, res) => {
    res.end(Buffer.from(encode(new Map<string, Encodable>([["interval", 1800], ["peers", Buffer.alloc(0)]]))));
  });
  cleanup.push(() => tracker.close());
  const dir = await mkdtemp(join(tmpdir(), "shoal-poller-jobs-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const { bytes, infoHash } = torrentBytes(`${tracker.base}/announce`);
  const claims = new MemoryClaimTable();
  const bus = new MemoryBus();
  const store = new FsObjectStore(dir);
  cleanup.push(async () => {
    await bus.close();
    await store.close();
  });
  const config = pollerConfigSchema.parse({ progressIntervalMs: 20, announcePort: 6881 });
  const deps = { claims, bus, store, catalog: new MemoryCatalog(), logger: silentLogger() };
  // The table as each torrent_started found it.
  const startedWith: PieceCounts[] = [];
  await bus.subscribe("torrent_started", infoHash, async () => void startedWith.push(await claims.counts(infoHash)));
  const run = (jobId: string, reportProgress: JobContext["reportProgress"] = async () => undefined): OwnerRun => {
    const controller = new AbortController();
    let cancelled = false;
    const ctx: JobContext = { jobId, signal: controller.signal, cancelled: () => cancelled, reportProgress };
    const ended = runTorrent(config, deps, { source: { kind: "torrent", base64: bytes.toString("base64") }, destination: dir }, ctx);
    ended.catch(() => undefined);
    return {
      ctx,
      ended,
      cancel() {
        cancelled = true;
        controller.abort(new Error(`job ${jobId} cancelled`));
      },
    };
  };
  return { infoHash, claims, bus, run, startedWith };
}

describe("a torrent's piece table belongs to the job running it", () => {
  it("a new job starts from the recheck, not from what an earlier job's table says; the same job moving owner keeps its table", async () => {
    const { infoHash, claims, run, startedWith } = await setUp();
    const first = run("1");
    await waitUntil(() => startedWith.length === 1, "the first job to start");
    // The first job stored both pieces in uploads it then aborted: nothing is in the destination.
    const w = "worker-a";
    await claims.heartbeat(infoHash, w, 60_000);
    for (const c of await claims.claim(infoHash, w, [0, 1], 2)) {
      await claims.stage(infoHash, w, c);
      await claims.verify(infoHash, c);
      await claims.store(infoHash, c);
    }
    first.cancel();
    await expect(first.ended).rejects.toThrow(/cancelled/);

    const second = run("2");
    await waitUntil(() => startedWith.length === 2, "the second job to start");
    expect(startedWith[1]).toMatchObject({ missing: 2, stored: 0 });
    const [claim] = await claims.claim(infoHash, w, [0], 1);
    // Its owner stops; another takes the same job over and must not lose the claim.
    second.cancel();
    await expect(second.ended).rejects.toThrow();
    const third = run("2");
    await waitUntil(() => startedWith.length === 3, "the job to start under its new owner");
    expect(await claims.piece(infoHash, 0)).toEqual({ state: "claimed", attempt: claim!.attempt, holder: w });
    third.cancel();
    await expect(third.ended).rejects.toThrow();
  });

  it("a progress report that fails is logged, and neither ends the job nor escapes unhandled", async () => {
    const { infoHash, claims, bus, run, startedWith } = await setUp();
    let reports = 0;
    const owner = run("1", async () => {
      reports++;
      throw new Error("Missing key for job 1. updateProgress");
    });
    await waitUntil(() => startedWith.length === 1 && reports >= 3, "failed progress reports");
    const w = "worker-a";
    await claims.heartbeat(infoHash, w, 60_000);
    for (const c of await claims.claim(infoHash, w, [0, 1], 2)) {
      await claims.stage(infoHash, w, c);
      await claims.verify(infoHash, c);
      await claims.store(infoHash, c);
      await bus.publish("piece_stored", { infoHash, piece: c.piece, attempt: c.attempt });
    }
    await bus.subscribe("torrent_complete", infoHash, (m) => bus.publish("torrent_finalized", { infoHash: m.infoHash }), { group: "storage-writer" });
    await expect(owner.ended).resolves.toMatchObject({ infoHash, totalBytes: 32 * 1024 });
  });
});
