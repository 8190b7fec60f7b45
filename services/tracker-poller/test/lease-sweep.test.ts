import { describe, expect, it } from "vitest";
import { Inbox } from "@shoal/contract-tests";
import { MemoryBus, MemoryClaimTable, checkInvariants, type SubjectPayloads } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { sweepLeases } from "../src/handlers/lease-sweep.js";

const IH = "ef".repeat(20);
const TTL_MS = 15_000;

describe("the owner's lease sweep", () => {
  it("returns a lapsed writer's held pieces and a lapsed worker's claims to missing and announces each with piece_failed", async () => {
    let now = 0;
    const claims = new MemoryClaimTable(() => now);
    const bus = new MemoryBus();
    const failed = new Inbox<SubjectPayloads["piece_failed"]>();
    await bus.subscribe("piece_failed", IH, (m) => failed.push(m));
    await claims.createTorrent(IH, 4, []);
    for (const w of ["worker", "writer", "live-writer"]) await claims.heartbeat(IH, w, TTL_MS);
    // Pieces 0 and 1 verified and held by writers; piece 2 claimed by a worker.
    const verified = await claims.claim(IH, "worker", [0, 1], 2);
    for (const c of verified) {
      await claims.stage(IH, "worker", c);
      await claims.verify(IH, c);
    }
    expect(await claims.hold(IH, "writer", [verified[0]!])).toEqual(["ok"]);
    expect(await claims.hold(IH, "live-writer", [verified[1]!])).toEqual(["ok"]);
    await claims.claim(IH, "worker", [2], 1);
    expect(await sweepLeases(claims, bus, IH, silentLogger())).toBe(0);

    now += TTL_MS + 1;
    await claims.heartbeat(IH, "live-writer", TTL_MS);
    expect(await sweepLeases(claims, bus, IH, silentLogger())).toBe(2);
    await failed.count(2, "piece_failed for each piece that went back");
    expect([...failed.items].sort((a, b) => a.piece - b.piece)).toEqual([
      { infoHash: IH, piece: 0, attempt: 1, peers: [] },
      { infoHash: IH, piece: 2, attempt: 1, peers: [] },
    ]);
    expect((await claims.pieces(IH)).map((p) => p.state)).toEqual(["missing", "verified", "missing", "missing"]);
    expect(checkInvariants(await claims.pieces(IH), new Set(["live-writer"]))).toEqual([]);
    expect(await sweepLeases(claims, bus, IH, silentLogger())).toBe(0);
    await bus.close();
  });
});
