import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryBus, MemoryClaimTable, checkInvariants, type Claim, type ObjectStore, type SubjectPayloads } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger, type RunningService } from "@shoal/service-kit";
import { start } from "../src/service.js";
import { writerConfigSchema } from "../src/config.js";
import { until } from "../../../test/sim/wait.js";

/*
 * The writer takes each staged piece from the bus itself and keeps the message unacknowledged
 * until the verifier's verdict. The verifier's part is played here on the claim table and the
 * bus, so each case decides when (and whether) the verdict comes.
 */

const IH = "cd".repeat(20);
const PIECES = 4;
/** The memory bus's ack wait for the writer's group; the writer must keep its waiting messages past it. */
const ACK_WAIT_SECONDS = 1;

/** A store that records which pieces were written and reports each durable at once. */
function recordingStore(): ObjectStore & { writes: number[] } {
  const writes: number[] = [];
  return {
    writes,
    openTorrent: async () => undefined,
    closeTorrent: async () => undefined,
    deleteStaged: async () => undefined,
    writePiece: async (_ih: string, piece: number) => {
      writes.push(piece);
      return [piece];
    },
  } as unknown as ObjectStore & { writes: number[] };
}

let claims: MemoryClaimTable;
let bus: MemoryBus;
let store: ObjectStore & { writes: number[] };
let handlerErrors: unknown[];
let writers: RunningService[];
const torrents = { get: async () => ({ layout: {} }), forget: () => undefined } as unknown as TorrentInfoCache;

beforeEach(async () => {
  claims = new MemoryClaimTable();
  handlerErrors = [];
  bus = new MemoryBus((err) => handlerErrors.push(err));
  store = recordingStore();
  writers = [];
  await claims.createTorrent(IH, PIECES, []);
  await claims.heartbeat(IH, "worker", 60_000);
});

afterEach(async () => {
  for (const w of writers) await w.stop();
  await bus.close();
  expect(checkInvariants(await claims.pieces(IH))).toEqual([]);
});

async function startWriter(): Promise<RunningService> {
  // A verdict poll far longer than the ack wait: the writer caps it at a third of the ack wait.
  const config = writerConfigSchema.parse({ ackWaitSeconds: ACK_WAIT_SECONDS, verdictPollSeconds: 60 });
  const writer = await start(config, { claims, store, bus, torrents, logger: silentLogger() });
  writers.push(writer);
  return writer;
}

/** A piece downloaded and staged by a worker, its message carrying the bytes, not verified yet. */
async function stagedPiece(piece: number): Promise<{ claim: Claim; msg: SubjectPayloads["piece_staged"] }> {
  const [claim] = await claims.claim(IH, "worker", [piece], 1);
  expect(await claims.stage(IH, "worker", claim!)).toBe("ok");
  const msg = { infoHash: IH, piece, attempt: claim!.attempt, workerId: "worker", peers: ["10.0.0.1:6881"], data: new Uint8Array(16).fill(piece) };
  return { claim: claim!, msg };
}

const status = (w: RunningService) => w.status() as Record<string, number>;

describe("storage-writer waiting for verdicts", () => {
  it("keeps a staged piece past its ack wait without a redelivery and writes it when the verdict comes", async () => {
    const writer = await startWriter();
    const { claim, msg } = await stagedPiece(1);
    await bus.publish("piece_staged", msg);
    await until(() => status(writer)["awaitingVerdict"] === 1, { timeoutMs: 2_000, what: "the piece to wait" });
    expect(status(writer)["awaitingVerdictBytes"]).toBe(16);
    // Six polls at a third of the ack wait each: two ack waits without an acknowledgement. A
    // redelivery would be a second waiting copy.
    await until(() => status(writer)["polls"] >= 6, { timeoutMs: 10_000, what: "six polls of the claim table" });
    expect(status(writer)["awaitingVerdict"]).toBe(1);
    expect(store.writes).toEqual([]);

    expect(await claims.verify(IH, claim)).toBe("ok");
    const polls = status(writer)["polls"];
    await bus.publish("piece_verified", { infoHash: IH, piece: 1, attempt: claim.attempt });
    await until(() => store.writes.length === 1, { timeoutMs: 2_000, what: "the write after the verdict" });
    await bus.drain();
    expect(store.writes).toEqual([1]);
    expect(await claims.piece(IH, 1)).toMatchObject({ state: "stored", attempt: claim.attempt });
    expect(status(writer)).toMatchObject({ stored: 1, awaitingVerdict: 0, awaitingVerdictBytes: 0, dropped: 0 });
    // Written on the verdict, not on a later poll.
    expect(status(writer)["polls"]).toBeLessThanOrEqual(polls + 1);
    expect(handlerErrors).toEqual([]);
  });

  it("reads the verdict from the claim table when the broadcast is lost", async () => {
    const writer = await startWriter();
    const { claim, msg } = await stagedPiece(2);
    await bus.publish("piece_staged", msg);
    await until(() => status(writer)["awaitingVerdict"] === 1, { timeoutMs: 2_000, what: "the piece to wait" });
    // Verified without a piece_verified: only the poll can tell the writer.
    expect(await claims.verify(IH, claim)).toBe("ok");
    await until(() => store.writes.length === 1, { timeoutMs: 5_000, what: "the write after a poll" });
    await bus.drain();
    expect(await claims.piece(IH, 2)).toMatchObject({ state: "stored" });
    expect(status(writer)["polls"]).toBeGreaterThanOrEqual(1);
  });

  it("takes a verdict that came before the staged message", async () => {
    const writer = await startWriter();
    const { claim, msg } = await stagedPiece(0);
    expect(await claims.verify(IH, claim)).toBe("ok");
    await bus.publish("piece_verified", { infoHash: IH, piece: 0, attempt: claim.attempt });
    await bus.drain();
    await bus.publish("piece_staged", msg);
    await until(() => store.writes.length === 1, { timeoutMs: 2_000, what: "the write" });
    await bus.drain();
    expect(status(writer)).toMatchObject({ stored: 1, polls: 0 });
  });

  it("drops a staged piece whose hash failed: nothing written, the message acknowledged", async () => {
    const writer = await startWriter();
    const { claim, msg } = await stagedPiece(3);
    await bus.publish("piece_staged", msg);
    await until(() => status(writer)["awaitingVerdict"] === 1, { timeoutMs: 2_000, what: "the piece to wait" });
    expect((await claims.reject(IH, claim, msg.peers)).result).toBe("ok");
    await bus.publish("piece_failed", { infoHash: IH, piece: 3, attempt: claim.attempt, peers: msg.peers });
    await until(() => status(writer)["dropped"] === 1, { timeoutMs: 2_000, what: "the piece to be dropped" });
    // Acknowledged: a redelivery after the ack wait would wait again, or be dropped a second
    // time. A fence piece waits over an ack wait (four polls at a third of one) meanwhile.
    await until(() => status(writer)["awaitingVerdict"] === 0, { timeoutMs: 2_000, what: "the wait to end" });
    const fence = await stagedPiece(0);
    await bus.publish("piece_staged", fence.msg);
    await until(() => status(writer)["polls"] >= 4, { timeoutMs: 10_000, what: "four polls for the fence piece" });
    expect(status(writer)).toMatchObject({ dropped: 1, awaitingVerdict: 1 });
    expect(store.writes).toEqual([]);
    expect(await claims.piece(IH, 3)).toMatchObject({ state: "missing" });
  });

  it("hands waiting pieces back to the bus when it stops, and the next writer writes them", async () => {
    const first = await startWriter();
    const { claim, msg } = await stagedPiece(1);
    await bus.publish("piece_staged", msg);
    await until(() => status(first)["awaitingVerdict"] === 1, { timeoutMs: 2_000, what: "the piece to wait" });
    await first.stop();
    expect(status(first)["awaitingVerdict"]).toBe(0);
    const second = await startWriter();
    await until(() => status(second)["awaitingVerdict"] === 1, { timeoutMs: 5_000, what: "the redelivery to the next writer" });
    expect(await claims.verify(IH, claim)).toBe("ok");
    await bus.publish("piece_verified", { infoHash: IH, piece: 1, attempt: claim.attempt });
    await until(() => store.writes.length === 1, { timeoutMs: 2_000, what: "the write by the next writer" });
    await bus.drain();
    expect(await claims.piece(IH, 1)).toMatchObject({ state: "stored" });
  });
});
