import { describe, expect, it } from "vitest";
import { MemoryBus, MemoryClaimTable, type ObjectStore } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger } from "@shoal/service-kit";
import { start } from "../src/service.js";
import { writerConfigSchema } from "../src/config.js";
import { until } from "../../../test/sim/wait.js";

const IH = "ab".repeat(20);

/** A store whose writes wait for `release()`, recording the order of writes and aborts. */
function gatedStore(): ObjectStore & { log: string[]; release(): void } {
  const log: string[] = [];
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    log,
    release: () => open(),
    openTorrent: async () => undefined,
    closeTorrent: async () => undefined,
    getStaged: async () => Buffer.alloc(16),
    deleteStaged: async () => undefined,
    writePiece: async (_ih: string, piece: number) => {
      log.push(`write ${piece} started`);
      await gate;
      log.push(`write ${piece} done`);
      return [];
    },
    abortTorrent: async () => void log.push("abort"),
  } as unknown as ObjectStore & { log: string[]; release(): void };
}

describe("storage-writer and a cancelled torrent", () => {
  it("aborts the torrent's uploads only after the writes under way when the cancel came", async () => {
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const store = gatedStore();
    const torrents = { get: async () => ({ layout: {} }) } as unknown as TorrentInfoCache;
    const writer = await start(writerConfigSchema.parse({}), { claims, store, bus, torrents, logger: silentLogger() });
    await claims.createTorrent(IH, 1, []);
    await claims.heartbeat(IH, "w", 60_000);
    const [c] = await claims.claim(IH, "w", [0], 1);
    await claims.stage(IH, "w", c!);
    await claims.verify(IH, c!);

    await bus.publish("piece_staged", { infoHash: IH, piece: 0, attempt: c!.attempt, workerId: "w", peers: [] });
    await until(() => store.log.length > 0, { timeoutMs: 2_000, what: "the write to start" });
    await bus.publish("torrent_finished", { infoHash: IH, reason: "cancelled" });
    // Not a wait for an event: a window in which a writer that does not wait for the write
    // would run its abort (its handler starts on the next turn of the event loop).
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
    store.release();
    await bus.drain();
    // An abort before the write finished would leave whatever the write opened (a multipart
    // upload) behind in the bucket.
    expect(store.log).toEqual(["write 0 started", "write 0 done", "abort"]);
    await writer.stop();
  });
});
