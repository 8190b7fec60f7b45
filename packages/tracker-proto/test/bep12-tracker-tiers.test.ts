import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { TrackerTiers } from "@shoal/tracker-proto";

/** Deterministic numbers in [0, 1) from a list, cycling. */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe("TrackerTiers", () => {
  it("keeps tier order, dedupes URLs and ignores unsupported schemes with a reason", () => {
    const tiers = TrackerTiers.fromAnnounceList(
      [
        ["http://a/announce", " udp://b:1/announce "],
        ["wss://c/announce", "http://a/announce", "not a url"],
        ["https://d/announce"],
      ],
      () => 0.99,
    );
    expect(tiers.tiers()).toEqual([["http://a/announce", "udp://b:1/announce"], ["https://d/announce"]]);
    expect(tiers.ignored).toEqual([
      { url: "wss://c/announce", reason: "scheme wss: is not supported" },
      { url: "http://a/announce", reason: "duplicate of an earlier tracker" },
      { url: "not a url", reason: "not a URL with a scheme and host" },
    ]);
    expect(tiers.ordered()).toEqual(["http://a/announce", "udp://b:1/announce", "https://d/announce"]);
    expect(tiers.size).toBe(3);
  });

  it("shuffles within a tier with the injected random function", () => {
    const tiers = TrackerTiers.fromAnnounceList([["http://1/a", "http://2/a", "http://3/a"]], sequence([0]));
    expect(tiers.ordered()).toEqual(["http://2/a", "http://3/a", "http://1/a"]);
  });

  it("promotes a tracker that answered to the front of its tier only", () => {
    const tiers = TrackerTiers.fromAnnounceList([["http://1/a", "http://2/a", "http://3/a"], ["http://4/a", "http://5/a"]], () => 0.99);
    tiers.promote("http://3/a");
    tiers.promote("http://5/a");
    tiers.promote("http://unknown/a");
    expect(tiers.tiers()).toEqual([
      ["http://3/a", "http://1/a", "http://2/a"],
      ["http://5/a", "http://4/a"],
    ]);
  });

  it("is a permutation of each tier whatever the random function returns (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 6 }), { maxLength: 5 }), fc.array(fc.double(), { minLength: 1 }), (list, randoms) => {
        const urls = list.map((tier) => tier.map((n) => `http://t${n}/announce`));
        const tiers = TrackerTiers.fromAnnounceList(urls, sequence(randoms));
        const seen = new Set<string>();
        const expected = urls.map((tier) => tier.filter((u) => (seen.has(u) ? false : (seen.add(u), true)))).filter((t) => t.length > 0);
        expect(tiers.tiers().map((t) => [...t].sort())).toEqual(expected.map((t) => [...t].sort()));
      }),
    );
  });
});
