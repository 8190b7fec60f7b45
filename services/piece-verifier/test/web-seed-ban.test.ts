import { describe, expect, it } from "vitest";
import { MemoryBus, MemoryClaimTable, type ObjectStore } from "@shoal/coordination";
import { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger } from "@shoal/service-kit";
import { verifyStaged, type VerifyStats } from "../src/handlers/verify-staged.js";
import { ThreadedHasher } from "../src/hashing/piece-hasher.js";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";

const fixture = makeFixture({ pieceLength: 32 * 1024, size: 4 * 32 * 1024, seed: 37 });
const WEB_SEED = "web:http://mirror.test/pub/";

describe("a web seed serving wrong bytes", () => {
  it("is blamed by its web: id and banned for the whole cluster like a peer", async () => {
    const ih = fixture.infoHashHex;
    const claims = new MemoryClaimTable();
    const bus = new MemoryBus();
    const hasher = new ThreadedHasher(1);
    // Every staged piece comes back with its bytes flipped: what a mirror with a damaged copy sends.
    const store = {
      getStaged: async (ref: { piece: number }) => Buffer.from(fixture.piece(ref.piece)).map((b) => b ^ 0xff),
      deleteStaged: async () => undefined,
    } as unknown as ObjectStore;
    const deps = { claims, store, bus, torrents: new TorrentInfoCache(async () => ({ infoBytes: fixture.infoBytes })), logger: silentLogger(), hasher };
    const stats: VerifyStats = { verified: 0, failed: 0, stale: 0, hashedBytes: 0, banned: 0 };
    const bans: string[] = [];
    const failed: string[][] = [];
    try {
      await claims.createTorrent(ih, fixture.pieceCount, []);
      await bus.subscribe("peer_banned", "*", (m) => void bans.push(m.peer));
      await bus.subscribe("piece_failed", "*", (m) => void failed.push(m.peers));
      for (const piece of [0, 1]) {
        const [claim] = await claims.claim(ih, "worker-a", [piece], 1);
        expect(await claims.stage(ih, "worker-a", claim!)).toBe("ok");
        await verifyStaged(deps, { infoHash: ih, piece, attempt: claim!.attempt, workerId: "worker-a", peers: [WEB_SEED] }, stats);
      }
      expect(stats.failed).toBe(2);
      // Broadcasts are delivered after the handler returns.
      await until(() => failed.length === 2 && bans.length === 1, { timeoutMs: 3_000, what: "both failures and the ban broadcast" });
      expect(failed).toEqual([[WEB_SEED], [WEB_SEED]]);
      expect(bans).toEqual([WEB_SEED]);
      expect(await claims.bannedPeers(ih)).toEqual([WEB_SEED]);
      expect((await claims.piece(ih, 0)).state).toBe("missing");
    } finally {
      await hasher.close();
      await bus.close();
    }
  });
});
