import { afterEach, beforeEach, expect, it } from "vitest";
import { Inbox } from "@shoal/contract-tests";
import { MemoryBus, MemoryClaimTable, type ObjectStore, type TorrentLayout } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger, type RunningService } from "@shoal/service-kit";
import { start, writerConfigSchema } from "../src/index.js";

/*
 * Completing a torrent of thousands of files takes a while, and its owner asks again meanwhile
 * (and the bus redelivers a request that outlasts its ack wait). Those requests join the
 * finalize in progress: a second one over the same objects would double the requests to the
 * store and race the first.
 */

const IH = "7c".repeat(20);

/** A store whose finalize waits until the test lets it finish. */
class SlowFinalizeStore {
  finalizes = 0;
  release: (() => void) | undefined;
  async openTorrent(_layout: TorrentLayout): Promise<void> {}
  async closeTorrent(): Promise<void> {}
  async finalize(): Promise<void> {
    this.finalizes++;
    await new Promise<void>((resolve) => (this.release = resolve));
  }
}

const torrents = { async get() { return { layout: { name: "t" } }; }, forget() {} } as unknown as TorrentInfoCache;

let table: MemoryClaimTable;
let bus: MemoryBus;
let store: SlowFinalizeStore;
let writer: RunningService;

beforeEach(async () => {
  table = new MemoryClaimTable();
  bus = new MemoryBus();
  store = new SlowFinalizeStore();
  writer = await start(writerConfigSchema.parse({ writerId: "writer-a" }), { claims: table, store: store as unknown as ObjectStore, bus, torrents, logger: silentLogger() });
});

afterEach(async () => {
  store.release?.();
  await writer.stop();
  await bus.close();
  await table.close();
});

it("requests to finalize a torrent whose finalize is running join it instead of starting another", async () => {
  const answers = new Inbox<string>();
  await bus.subscribe("torrent_finalized", IH, async (m) => answers.push(m.error ? "error" : "ok"));
  await bus.publish("torrent_complete", { infoHash: IH });
  await bus.publish("torrent_complete", { infoHash: IH });
  await bus.publish("torrent_complete", { infoHash: IH });
  const deadline = Date.now() + 5_000;
  while (store.release === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // Give the later requests time to be handled while the first finalize still runs.
  await new Promise((r) => setTimeout(r, 200));
  expect(store.finalizes).toBe(1);
  store.release!();
  await answers.count(1, "the files are final");
  // A request after it ended finalizes again (cheap: the objects are already complete).
  store.release = undefined;
  await bus.publish("torrent_complete", { infoHash: IH });
  while (store.release === undefined && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 10));
  expect(store.finalizes).toBe(2);
});
