import { describe, expect, it } from "vitest";
import { Inbox } from "@shoal/contract-tests";
import { BAN_STRIKES, MemoryBus, MemoryClaimTable, type ObjectStore, type StagedRef, type SubjectPayloads } from "@shoal/coordination";
import { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger } from "@shoal/service-kit";
import { verifyStaged, type VerifyStats } from "../src/handlers/verify-staged.js";
import { InlineHasher, ThreadedHasher } from "../src/hashing/piece-hasher.js";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";
import { fragileThreads } from "./fragile-threads.js";

const fixture = makeFixture({ pieceLength: 32 * 1024, size: 4 * 32 * 1024, seed: 31 });
/** The bus redelivers a failed message after 50 ms; a second is plenty for it to be hashed. */
const VERIFIED_WITHIN_MS = 3_000;

describe("verifying a staged piece", () => {
  it("verifies a piece whose hashing thread crashed, when the bus delivers it again", async () => {
    const ih = fixture.infoHashHex;
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const hasher = new ThreadedHasher(1, fragileThreads(["throw-on-first-piece"]));
    // Only the staged-bytes methods are used by the handler.
    const store = {
      getStaged: async (ref: StagedRef) => Buffer.from(fixture.piece(ref.piece)),
      deleteStaged: async () => undefined,
    } as unknown as ObjectStore;
    const deps = { claims, store, bus, torrents: new TorrentInfoCache(async () => ({ infoBytes: fixture.infoBytes })), logger: silentLogger(), hasher };
    const stats: VerifyStats = { verified: 0, failed: 0, stale: 0, hashedBytes: 0, banned: 0 };
    const attempts: string[] = [];
    try {
      await claims.createTorrent(ih, fixture.pieceCount, []);
      const [claim] = await claims.claim(ih, "worker-a", [2], 1);
      expect(await claims.stage(ih, "worker-a", claim!)).toBe("ok");
      await bus.subscribe(
        "piece_staged",
        "*",
        (m) =>
          verifyStaged(deps, m, stats).then(
            () => void attempts.push("ok"),
            (err: Error) => {
              attempts.push(err.message);
              throw err;
            },
          ),
        { group: "piece-verifier" },
      );
      await bus.publish("piece_staged", { infoHash: ih, piece: 2, attempt: claim!.attempt, workerId: "worker-a", peers: ["10.0.0.9:6881"] });
      await until(async () => (await claims.piece(ih, 2)).state === "verified", {
        timeoutMs: VERIFIED_WITHIN_MS,
        what: "piece 2 to be verified",
        describe: async () => `state ${(await claims.piece(ih, 2)).state}; deliveries: ${attempts.join(" | ") || "none finished"}`,
      });
      // The first delivery failed with the thread; the second was hashed by the thread that replaced it.
      expect(attempts).toEqual([expect.stringMatching(/hashing thread/), "ok"]);
      expect(stats).toMatchObject({ verified: 1, failed: 0 });
    } finally {
      await hasher.close();
      await bus.close();
    }
  });

  it("counts the peers it bans, once each, for the metrics endpoint", async () => {
    const ih = fixture.infoHashHex;
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    // Every staged piece reads as zeros: each fails its hash, and the one peer that sent it
    // collects a strike per piece.
    const store = {
      getStaged: async (ref: StagedRef) => Buffer.alloc(fixture.piece(ref.piece).length),
      deleteStaged: async () => undefined,
    } as unknown as ObjectStore;
    const deps = { claims, store, bus, torrents: new TorrentInfoCache(async () => ({ infoBytes: fixture.infoBytes })), logger: silentLogger(), hasher: new InlineHasher() };
    const stats: VerifyStats = { verified: 0, failed: 0, stale: 0, hashedBytes: 0, banned: 0 };
    const liar = "10.0.0.66:6881";
    try {
      await claims.createTorrent(ih, fixture.pieceCount, []);
      for (let piece = 0; piece < BAN_STRIKES + 1; piece++) {
        const [claim] = await claims.claim(ih, "worker-a", [piece], 1);
        expect(await claims.stage(ih, "worker-a", claim!)).toBe("ok");
        await verifyStaged(deps, { infoHash: ih, piece, attempt: claim!.attempt, workerId: "worker-a", peers: [liar] }, stats);
      }
      expect(stats).toMatchObject({ verified: 0, failed: BAN_STRIKES + 1, banned: 1 });
      expect(await claims.bannedPeers(ih)).toEqual([liar]);
    } finally {
      await bus.close();
    }
  });

  it("answers bytes on the bus with a verdict without bytes, and sends it again for a redelivery of a verified piece", async () => {
    const ih = fixture.infoHashHex;
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    // The bytes come in the message: the staging area must not be read.
    const store = { getStaged: async () => Promise.reject(new Error("staging read")), deleteStaged: async () => undefined } as unknown as ObjectStore;
    const deps = { claims, store, bus, torrents: new TorrentInfoCache(async () => ({ infoBytes: fixture.infoBytes })), logger: silentLogger(), hasher: new InlineHasher() };
    const stats: VerifyStats = { verified: 0, failed: 0, stale: 0, hashedBytes: 0, banned: 0 };
    const verdicts = new Inbox<SubjectPayloads["piece_verified"]>();
    await bus.subscribe("piece_verified", ih, (m) => verdicts.push(m));
    await claims.createTorrent(ih, fixture.pieceCount, []);
    const [claim] = await claims.claim(ih, "worker-a", [1], 1);
    expect(await claims.stage(ih, "worker-a", claim!)).toBe("ok");
    const msg = { infoHash: ih, piece: 1, attempt: claim!.attempt, workerId: "worker-a", peers: [], data: new Uint8Array(fixture.piece(1)) };

    await verifyStaged(deps, msg, stats);
    await verifyStaged(deps, msg, stats);
    const verdict = { infoHash: ih, piece: 1, attempt: claim!.attempt };
    expect(await verdicts.count(2, "two verdicts")).toEqual([verdict, verdict]);
    expect(stats).toMatchObject({ verified: 1, stale: 1, hashedBytes: fixture.piece(1).length });
    expect(await claims.piece(ih, 1)).toMatchObject({ state: "verified" });
    await bus.close();
  });
});
