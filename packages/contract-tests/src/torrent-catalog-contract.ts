import { describe, expect } from "vitest";
import { CoordinationError, type TorrentCatalog, type TorrentRecord } from "@shoal/coordination";
import { expectRejection } from "./expect-error.js";
import { caseRegistry, type PortHarness } from "./harness.js";
import { randomInfoHash } from "./ids.js";

export type TorrentCatalogHarness = PortHarness<TorrentCatalog>;

function record(infoHash: string): TorrentRecord {
  return {
    infoHash,
    // Every byte value, so an adapter that stores text would show it.
    infoBytes: Uint8Array.from({ length: 256 }, (_, i) => i),
    announceTiers: [["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969"], ["http://127.0.0.2:80/announce"]],
    destination: "bucket/prefix",
    private: true,
  };
}

/** Compares a record read back, with the bytes as plain bytes whatever view the adapter returns. */
function plain(r: TorrentRecord | undefined) {
  return r && { ...r, infoBytes: Buffer.from(r.infoBytes.buffer, r.infoBytes.byteOffset, r.infoBytes.byteLength).toString("hex") };
}

/** Cases every TorrentCatalog adapter must pass. */
export function torrentCatalogContract(harness: TorrentCatalogHarness): void {
  describe(`TorrentCatalog contract: ${harness.name}`, () => {
    const { scenario, done } = caseRegistry(harness);

    scenario("put then get returns the record intact", async (catalog) => {
      const r = record(randomInfoHash());
      await catalog.put(r);
      expect(plain(await catalog.get(r.infoHash))).toEqual(plain(r));
      const open = { ...record(randomInfoHash()), announceTiers: [], private: false };
      await catalog.put(open);
      expect(plain(await catalog.get(open.infoHash))).toEqual(plain(open));
    });

    scenario("the job's file selection, rate limits and web seeds come back, and a later put without them drops them", async (catalog) => {
      const ih = randomInfoHash();
      const selective = {
        ...record(ih),
        selectFiles: [0, 3, 4, 9],
        maxDownloadBytesPerSec: 4 * 1024 * 1024,
        maxUploadBytesPerSec: 512 * 1024,
        webSeeds: ["http://mirror.test/pub/", "https://other.test/x y"],
      };
      await catalog.put(selective);
      expect(plain(await catalog.get(ih))).toEqual(plain(selective));
      // Another job on the same torrent, with every file and no limits.
      await catalog.put(record(ih));
      expect(plain(await catalog.get(ih))).toEqual(plain(record(ih)));
    });

    scenario("get of an unknown torrent resolves undefined", async (catalog) => {
      expect(await catalog.get(randomInfoHash())).toBeUndefined();
    });

    scenario("delete forgets one record and keeps the others", async (catalog) => {
      const [gone, kept] = [record(randomInfoHash()), record(randomInfoHash())];
      await catalog.put(gone);
      await catalog.put(kept);
      await catalog.delete(gone.infoHash);
      expect(await catalog.get(gone.infoHash)).toBeUndefined();
      expect(plain(await catalog.get(kept.infoHash))).toEqual(plain(kept));
    });

    scenario("after close put, get and delete throw CoordinationError BACKEND_UNAVAILABLE, retryable", async (catalog) => {
      const r = record(randomInfoHash());
      await catalog.put(r);
      await catalog.close();
      const calls: Record<string, () => Promise<unknown>> = {
        put: () => catalog.put(record(randomInfoHash())),
        get: () => catalog.get(r.infoHash),
        delete: () => catalog.delete(r.infoHash),
      };
      for (const [name, call] of Object.entries(calls)) {
        const err = await expectRejection(call, CoordinationError, "BACKEND_UNAVAILABLE", `${name} after close`);
        expect(err.retryable, `${name} after close: retryable`).toBe(true);
      }
      await catalog.close();
    });

    done();
  });
}
