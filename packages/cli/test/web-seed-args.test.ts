import { describe, expect, it } from "vitest";
import { parseCommandLine, UsageError } from "../src/args.js";

describe("web seed options of get", () => {
  it("uses the torrent's web seeds by default", () => {
    expect(parseCommandLine(["get", "t.torrent", "--out", "d"])).toMatchObject({ webSeeds: undefined });
  });

  it("adds repeated --web-seed URLs and turns the torrent's off with --no-web-seeds", () => {
    expect(parseCommandLine(["get", "t.torrent", "--out", "d", "--web-seed", "http://a/x/", "--web-seed", "https://b/f.iso"])).toMatchObject({
      webSeeds: { fromTorrent: true, add: ["http://a/x/", "https://b/f.iso"] },
    });
    expect(parseCommandLine(["get", "t.torrent", "--out", "d", "--no-web-seeds"])).toMatchObject({ webSeeds: { fromTorrent: false, add: [] } });
  });

  it("refuses a URL a web seed cannot have, naming it", () => {
    for (const bad of ["ftp://h/x", "mirror/path", "http://user:pw@h/"]) {
      expect(() => parseCommandLine(["get", "t.torrent", "--out", "d", "--web-seed", bad])).toThrow(UsageError);
      expect(() => parseCommandLine(["get", "t.torrent", "--out", "d", "--web-seed", bad])).toThrow(new RegExp(`--web-seed: "${bad.replace(/[/.:]/g, "\\$&")}" is not an http\\(s\\) URL`));
    }
    expect(() => parseCommandLine(["info", "t.torrent", "--web-seed", "http://a/"])).toThrow(/--web-seed is an option of get, not of info/);
  });
});
