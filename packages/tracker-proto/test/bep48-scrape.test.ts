import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@shoal/bencode";
import { TrackerError, buildScrapeUrl, parseScrapeResponse, scrapeUrlOf } from "@shoal/tracker-proto";

const limits = { maxBytes: 1 << 20, maxFiles: 100 };

describe("scrapeUrlOf", () => {
  it.each([
    ["http://example.com/announce", "http://example.com/scrape"],
    ["http://example.com/x/announce", "http://example.com/x/scrape"],
    ["http://example.com/announce.php", "http://example.com/scrape.php"],
    ["http://example.com/announce?x2%0644", "http://example.com/scrape?x2%0644"],
    ["http://example.com/announce?x=2/4", "http://example.com/scrape?x=2/4"],
    ["https://example.com:8443/p/announce#frag", "https://example.com:8443/p/scrape"],
  ])("maps %s to %s (BEP 48)", (announce, scrape) => {
    expect(scrapeUrlOf(announce)).toBe(scrape);
  });

  it.each(["http://example.com/a", "http://example.com/x%064announce", "http://example.com", "udp://example.com:80/announce", "junk"])(
    "has no scrape URL for %s",
    (announce) => {
      expect(scrapeUrlOf(announce)).toBeUndefined();
    },
  );
});

describe("scrapeUrlOf on any text", () => {
  it("returns a URL ending like the announce URL's query or undefined, never throwing (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true })), (text) => {
        const scrape = scrapeUrlOf(text);
        if (scrape !== undefined) expect(scrape).toContain("/scrape");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("buildScrapeUrl", () => {
  it("repeats info_hash once per torrent", () => {
    const url = buildScrapeUrl("http://t/scrape?k=1", [new Uint8Array(20), new Uint8Array(20).fill(0x41)]);
    expect(url).toBe(`http://t/scrape?k=1&info_hash=${"%00".repeat(20)}&info_hash=${"A".repeat(20)}`);
  });
});

describe("parseScrapeResponse", () => {
  it("keys the counters by hex info hash", () => {
    const hash = String.fromCharCode(...Array.from({ length: 20 }, (_, i) => i + 200 - (i > 10 ? 100 : 0)));
    const hashBytes = Uint8Array.from(hash, (c) => c.charCodeAt(0));
    const bytes = encode(new Map([["files", new Map([[hash, { complete: 5, incomplete: 2, downloaded: 9 }]])]]));
    const result = parseScrapeResponse(bytes, limits);
    expect([...result.files]).toEqual([[Buffer.from(hashBytes).toString("hex"), { complete: 5, incomplete: 2, downloaded: 9 }]]);
  });

  it("turns a failure reason into FAILURE", () => {
    expect(() => parseScrapeResponse(encode({ "failure reason": "no scrape" }), limits)).toThrow(/no scrape/);
  });

  it("rejects keys that are not 20 bytes", () => {
    const bytes = encode({ files: { short: { complete: 1 } } });
    expect(() => parseScrapeResponse(bytes, limits)).toThrow(TrackerError);
  });

  it("maps arbitrary bytes to a result or a TrackerError (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseScrapeResponse(bytes, limits);
        } catch (err) {
          expect(err).toBeInstanceOf(TrackerError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
