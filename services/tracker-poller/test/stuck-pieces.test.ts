import { describe, expect, it } from "vitest";
import { MemoryBus, MemoryClaimTable, type SubjectPayloads } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { STUCK_SWEEP_BYTES_PER_PIECE, StuckPieces } from "../src/handlers/stuck-pieces.js";

const IH = "ef".repeat(20);

describe("StuckPieces", () => {
  it("sends back pieces whose message was lost once they sat staged or unheld verified too long, and nothing else", async () => {
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const failed: SubjectPayloads["piece_failed"][] = [];
    await bus.subscribe("piece_failed", IH, (m) => void failed.push(m));
    await claims.createTorrent(IH, 6, []);
    await claims.heartbeat(IH, "w", 3_600_000);
    await claims.heartbeat(IH, "writer", 3_600_000);
    const c = await claims.claim(IH, "w", [0, 1, 2, 3, 4], 5);
    for (const x of c) await claims.stage(IH, "w", x);
    await claims.verify(IH, c[1]!);
    await claims.verify(IH, c[2]!);
    await claims.hold(IH, "writer", [c[2]!]);
    await claims.verify(IH, c[3]!);
    await claims.store(IH, c[3]!);
    // 0: staged; 1: verified, unheld; 2: verified, held by a writer; 3: stored; 4: staged, moves on soon; 5: missing.
    let t = 0;
    const sweeper = new StuckPieces(claims, bus, IH, 60_000, () => t, silentLogger());
    expect(await sweeper.sweep()).toBe(0);
    t = 30_000;
    await claims.verify(IH, c[4]!); // piece 4 moved: its clock starts again
    expect(await sweeper.sweep()).toBe(0);
    t = 61_000;
    expect(await sweeper.sweep()).toBe(2);
    expect((await claims.piece(IH, 0)).state).toBe("missing");
    expect((await claims.piece(IH, 1)).state).toBe("missing");
    expect((await claims.piece(IH, 2)).state).toBe("verified");
    expect((await claims.piece(IH, 3)).state).toBe("stored");
    expect((await claims.piece(IH, 4)).state).toBe("verified");
    await new Promise((r) => setImmediate(r));
    expect(failed.map((m) => m.piece).sort()).toEqual([0, 1]);
    t = 95_000;
    expect(await sweeper.sweep()).toBe(1); // piece 4, verified since 30 s
  });
});

/** The memory table, counting the reads a sweep makes. */
class CountingClaimTable extends MemoryClaimTable {
  pieceReads = 0;
  tableReads = 0;
  override piece(infoHash: string, index: number) {
    this.pieceReads++;
    return super.piece(infoHash, index);
  }
  override pieces(infoHash: string) {
    this.tableReads++;
    return super.pieces(infoHash);
  }
}

describe("StuckPieces with a large backlog", () => {
  it("reads the table once per sweep and keeps 13 bytes per piece, however many pieces wait", async () => {
    const claims = new CountingClaimTable();
    const pieceCount = 20_000;
    await claims.createTorrent(IH, pieceCount, []);
    await claims.heartbeat(IH, "w", 3_600_000);
    const sweeper = new StuckPieces(claims, new MemoryBus(), IH, 60_000, () => 0, silentLogger());
    // Nothing waits: the counts answer, the table is not read and nothing is kept.
    expect(await sweeper.sweep()).toBe(0);
    expect(claims.tableReads).toBe(0);
    expect(sweeper.retainedBytes).toBe(0);
    const all = Array.from({ length: pieceCount }, (_, i) => i);
    for (const c of await claims.claim(IH, "w", all, pieceCount)) await claims.stage(IH, "w", c);
    expect(await sweeper.sweep()).toBe(0);
    expect(await sweeper.sweep()).toBe(0);
    expect(claims.tableReads).toBe(2);
    expect(claims.pieceReads).toBe(0);
    expect(sweeper.retainedBytes).toBe(pieceCount * STUCK_SWEEP_BYTES_PER_PIECE);
    expect(STUCK_SWEEP_BYTES_PER_PIECE).toBe(13);
  });

  it("joins a sweep in progress instead of starting another", async () => {
    const claims = new CountingClaimTable();
    await claims.createTorrent(IH, 4, []);
    await claims.heartbeat(IH, "w", 3_600_000);
    for (const c of await claims.claim(IH, "w", [0, 1], 2)) await claims.stage(IH, "w", c);
    const sweeper = new StuckPieces(claims, new MemoryBus(), IH, 60_000, () => 0, silentLogger());
    const [a, b] = [sweeper.sweep(), sweeper.sweep()];
    expect(a).toBe(b);
    await a;
    expect(claims.tableReads).toBe(1);
    await sweeper.sweep();
    expect(claims.tableReads).toBe(2);
  });
});
