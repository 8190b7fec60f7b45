import { describe, expect, it } from "vitest";
import { MAX_WEB_SEEDS } from "@shoal/metainfo";
import { resolveWebSeeds } from "../src/handlers/web-seed-list.js";

describe("a job's web seeds", () => {
  const torrent = ["http://t1/", "https://t2/x"];

  it("are the torrent's own, then a magnet's, then the added ones, each once", () => {
    expect(resolveWebSeeds({ torrent }, undefined)).toEqual(torrent);
    expect(resolveWebSeeds({ torrent, magnet: ["http://m/"] }, { add: ["http://t1/", "http://added/"] })).toEqual([...torrent, "http://m/", "http://added/"]);
  });

  it("leave out the torrent's and the magnet's when the job says so, keeping the added ones", () => {
    expect(resolveWebSeeds({ torrent, magnet: ["http://m/"] }, { fromTorrent: false, add: ["http://added/"] })).toEqual(["http://added/"]);
    expect(resolveWebSeeds({ torrent }, { fromTorrent: false })).toEqual([]);
  });

  it("drop URLs no web seed can have and stop at the limit, whoever produced the job", () => {
    expect(resolveWebSeeds({ torrent: [] }, { add: ["ftp://x/", "http://ok/", "javascript:alert(1)"] })).toEqual(["http://ok/"]);
    const many = Array.from({ length: 100 }, (_, i) => `http://h${i}/`);
    expect(resolveWebSeeds({ torrent: many }, undefined)).toHaveLength(MAX_WEB_SEEDS);
  });
});
