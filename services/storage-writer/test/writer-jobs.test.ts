import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Inbox } from "@shoal/contract-tests";
import { MemoryBus, MemoryClaimTable, type ObjectStore, type StagedRef, type TorrentLayout } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger, type RunningService } from "@shoal/service-kit";
import { start, writerConfigSchema } from "../src/index.js";
import { until } from "../../../test/sim/wait.js";

/*
 * A torrent submitted again after a job that failed (or whose end the writer never heard) may
 * name another destination or other files: the writer opens it afresh for the new job instead of
 * writing on with the earlier job's store state.
 */

const IH = "6b".repeat(20);
const PIECES = 4;

/** Records what the writer asks of the store; every piece is durable at once. */
class RecordingStore {
  readonly calls: string[] = [];
  async openTorrent(layout: TorrentLayout): Promise<void> {
    this.calls.push(`open ${layout.name}`);
  }
  async closeTorrent(): Promise<void> {
    this.calls.push("close");
  }
  async writePiece(_ih: string, piece: number): Promise<readonly number[]> {
    this.calls.push(`write ${piece}`);
    return [piece];
  }
  async deleteStaged(_ref: StagedRef): Promise<void> {}
}

/** The catalog as the writer sees it: each job files its own layout (another destination, say). */
function catalog(): TorrentInfoCache & { job: string; forgotten: number } {
  const t = {
    job: "job-1",
    forgotten: 0,
    cached: undefined as string | undefined,
    async get() {
      t.cached ??= t.job;
      return { layout: { name: t.cached } };
    },
    forget() {
      t.forgotten++;
      t.cached = undefined;
    },
  };
  return t as unknown as TorrentInfoCache & { job: string; forgotten: number };
}

let table: MemoryClaimTable;
let bus: MemoryBus;
let store: RecordingStore;
let torrents: ReturnType<typeof catalog>;
let writer: RunningService;

beforeEach(async () => {
  table = new MemoryClaimTable();
  bus = new MemoryBus();
  store = new RecordingStore();
  torrents = catalog();
  await table.startJob(IH, "job-1", PIECES, []);
  await table.heartbeat(IH, "worker", 3_600_000);
  writer = await start(writerConfigSchema.parse({ writerId: "writer-a" }), { claims: table, store: store as unknown as ObjectStore, bus, torrents, logger: silentLogger() });
});

afterEach(async () => {
  await writer.stop();
  await bus.close();
  await table.close();
});

/** Takes `piece` through claim, stage and verify, then hands it to the writer. */
async function verified(piece: number): Promise<void> {
  const [claim] = await table.claim(IH, "worker", [piece], 1);
  await table.stage(IH, "worker", claim!);
  await table.verify(IH, claim!);
  await bus.publish("piece_staged", { infoHash: IH, piece, attempt: claim!.attempt, workerId: "worker", peers: [], data: new Uint8Array(16) });
}

describe("storage-writer across jobs of one torrent", () => {
  it("a new job's torrent_started makes the writer open the torrent afresh, with the new job's layout", async () => {
    const stored = new Inbox<number>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m.piece));
    await verified(0);
    await stored.count(1, "piece 0 stored");
    await bus.publish("torrent_finished", { infoHash: IH, reason: "failed" });

    // Submitted again, to another destination: the owner rebuilt the table for the new job.
    torrents.job = "job-2";
    await table.startJob(IH, "job-2", PIECES, [0]);
    await table.heartbeat(IH, "worker", 3_600_000);
    await bus.publish("torrent_started", { infoHash: IH, newJob: true });
    await verified(1);
    await stored.count(2, "piece 1 stored");
    await until(() => store.calls.includes("write 1"), { timeoutMs: 2_000, what: "piece 1 written" });
    expect(store.calls).toEqual(["open job-1", "write 0", "close", "open job-2", "write 1"]);
    expect(torrents.forgotten).toBe(1);
  });

  it("the same job under a new owner (torrent_started without newJob) keeps what the writer has open", async () => {
    const stored = new Inbox<number>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m.piece));
    await verified(0);
    await stored.count(1, "piece 0 stored");
    await bus.publish("torrent_finished", { infoHash: IH, reason: "stopped" });
    await bus.publish("torrent_started", { infoHash: IH, newJob: false });
    await verified(1);
    await stored.count(2, "piece 1 stored");
    expect(store.calls).toEqual(["open job-1", "write 0", "write 1"]);
    expect(torrents.forgotten).toBe(0);
  });
});
