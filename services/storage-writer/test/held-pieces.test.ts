import { describe, expect, it } from "vitest";
import { MemoryBus, MemoryClaimTable, StorageError, type ObjectStore, type StagedRef } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { writeVerified, type WriteStats } from "../src/handlers/write-verified.js";
import { HeldPieces } from "../src/held-pieces.js";
import { until } from "../../../test/sim/wait.js";

const IH = "cd".repeat(20);

/**
 * A store that, like an S3 store assembling a part, holds pieces 0 and 1 until both arrived and
 * then reports both durable; piece 2 is durable at once.
 */
function pairingStore(): ObjectStore & { deleted: StagedRef[] } {
  const held = new Set<number>();
  const deleted: StagedRef[] = [];
  return {
    deleted,
    getStaged: async (ref: StagedRef) => Buffer.alloc(100, ref.piece),
    deleteStaged: async (ref: StagedRef) => void deleted.push(ref),
    writePiece: async (_ih: string, piece: number) => {
      if (piece === 2) return [2];
      held.add(piece);
      return held.size === 2 ? [0, 1] : [];
    },
  } as unknown as ObjectStore & { deleted: StagedRef[] };
}

describe("writing verified pieces into a store that assembles units", () => {
  it("marks a held piece stored, with its own attempt, only once the store reports it durable", async () => {
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const store = pairingStore();
    const held = new HeldPieces(claims, "writer", 60_000, silentLogger());
    const stats: WriteStats = { stored: 0, stale: 0, writtenBytes: 0 };
    const stored: { piece: number; attempt: number }[] = [];
    await bus.subscribe("piece_stored", IH, (m) => void stored.push({ piece: m.piece, attempt: m.attempt }));
    await claims.createTorrent(IH, 3, []);
    await claims.heartbeat(IH, "w", 60_000);
    // Piece 0 is on its second attempt: the first was released.
    const [first] = await claims.claim(IH, "w", [0], 1);
    await claims.release(IH, "w", first!);
    const claimsNow = await claims.claim(IH, "w", [0, 1, 2], 3);
    for (const c of claimsNow) {
      await claims.stage(IH, "w", c);
      await claims.verify(IH, c);
    }
    const deps = { claims, store, bus, logger: silentLogger(), ensureOpen: async () => undefined, held };
    const verified = (piece: number) => ({ infoHash: IH, piece, attempt: claimsNow.find((c) => c.piece === piece)!.attempt, workerId: "w" });

    await writeVerified(deps, verified(0), stats);
    // Held under the writer's lease while its unit is incomplete.
    expect(await claims.piece(IH, 0)).toEqual({ state: "verified", attempt: 2, holder: "writer" });
    expect(stored).toEqual([]);
    await writeVerified(deps, verified(2), stats);
    expect((await claims.piece(IH, 2)).state).toBe("stored");
    await writeVerified(deps, verified(1), stats);
    expect((await claims.pieces(IH)).map((p) => p.state)).toEqual(["stored", "stored", "stored"]);
    await until(() => stored.length === 3, { timeoutMs: 2_000, what: "three piece_stored messages" });
    expect(stored.sort((a, b) => a.piece - b.piece)).toEqual([
      { piece: 0, attempt: 2 },
      { piece: 1, attempt: 1 },
      { piece: 2, attempt: 1 },
    ]);
    expect(store.deleted.map((r) => r.piece).sort()).toEqual([0, 1, 2]);
    expect(held.size).toBe(0);
    expect(held.leasedTorrents()).toEqual([]);
    expect(stats.stored).toBe(3);
  });
});

describe("a store that cannot open the torrent for good", () => {
  it("reports storage_failed instead of failing the message forever, and keeps the piece verified", async () => {
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const failures: string[] = [];
    await bus.subscribe("storage_failed", IH, (m) => void failures.push(m.error.message));
    await claims.createTorrent(IH, 1, []);
    const [c] = await claims.claim(IH, "w", [0], 1);
    await claims.stage(IH, "w", c!);
    await claims.verify(IH, c!);
    const noBucket = new StorageError("IO", "s3.listObjects failed on s3://gone/dl/t/: NoSuchBucket: the bucket does not exist", { retryable: false });
    const deps = {
      claims,
      store: pairingStore(),
      bus,
      logger: silentLogger(),
      ensureOpen: async () => Promise.reject(noBucket),
      held: new HeldPieces(claims, "writer", 60_000, silentLogger()),
    };
    // Resolves: the bus must not deliver it again and again.
    await writeVerified(deps, { infoHash: IH, piece: 0, attempt: c!.attempt, workerId: "w" }, { stored: 0, stale: 0, writtenBytes: 0 });
    await until(() => failures.length === 1, { timeoutMs: 2_000, what: "storage_failed" });
    expect(failures[0]).toMatch(/NoSuchBucket/);
    expect((await claims.piece(IH, 0)).state).toBe("verified");
  });
});

describe("a second delivery of a piece the writer already holds", () => {
  it("arriving without its bytes (released by the first) leaves the piece held, not sent back to missing", async () => {
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const failed: number[] = [];
    await bus.subscribe("piece_failed", IH, (m) => void failed.push(m.piece));
    await claims.createTorrent(IH, 3, []);
    await claims.heartbeat(IH, "w", 60_000);
    const [c] = await claims.claim(IH, "w", [0], 1);
    await claims.stage(IH, "w", c!);
    await claims.verify(IH, c!);
    // Nothing is staged in the store: in a cluster the bytes ride the bus.
    const store = {
      ...pairingStore(),
      getStaged: async () => Promise.reject(new StorageError("NOT_FOUND", "no staged bytes")),
    } as unknown as ObjectStore;
    const held = new HeldPieces(claims, "writer", 60_000, silentLogger());
    const deps = { claims, store, bus, logger: silentLogger(), ensureOpen: async () => undefined, held };
    const stats: WriteStats = { stored: 0, stale: 0, writtenBytes: 0 };
    const piece = { infoHash: IH, piece: 0, attempt: c!.attempt, workerId: "w" };
    await writeVerified(deps, { ...piece, data: new Uint8Array(100) }, stats, true);
    expect(await claims.piece(IH, 0)).toEqual({ state: "verified", attempt: c!.attempt, holder: "writer" });
    // The redelivery finds the chunks purged: the bus hands it over without `data`.
    await writeVerified(deps, piece, stats, true);
    expect(await claims.piece(IH, 0)).toEqual({ state: "verified", attempt: c!.attempt, holder: "writer" });
    expect(held.get(IH, 0)?.ref.attempt).toBe(c!.attempt);
    expect(stats.stale).toBe(1);
    await bus.drain();
    expect(failed).toEqual([]);
  });
});
