import { describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { parseInfoDict, parseMetainfo, TorrentInfoCache } from "../src/index.js";
import { multiInfo, singleInfo, torrent } from "./fixtures.js";

describe("TorrentInfoCache", () => {
  it("loads and parses an info dict once, however many services ask", async () => {
    const infoBytes = encode(singleInfo());
    const infoHash = parseInfoDict(infoBytes).infoHashHex;
    let loads = 0;
    const cache = new TorrentInfoCache(async () => {
      loads++;
      return { infoBytes };
    });
    const [a, b] = await Promise.all([cache.get(infoHash), cache.get(infoHash)]);
    expect(a.metainfo).toBe(b.metainfo);
    expect(a.metainfo.name).toBe("single.bin");
    expect(loads).toBe(1);
  });

  it("serves metadata parsed elsewhere in the process without loading or parsing it again", async () => {
    const meta = parseMetainfo(torrent(multiInfo()));
    const cache = new TorrentInfoCache(async () => {
      throw new Error("must not be loaded");
    });
    cache.add(meta);
    expect((await cache.get(meta.infoHashHex)).metainfo).toBe(meta);
  });

  it("keeps the entry it has when the same torrent is added again", async () => {
    const first = parseMetainfo(torrent(multiInfo()));
    const second = parseMetainfo(torrent(multiInfo()));
    const cache = new TorrentInfoCache(async () => undefined);
    cache.add(first);
    cache.add(second);
    expect((await cache.get(first.infoHashHex)).metainfo).toBe(first);
  });
});
