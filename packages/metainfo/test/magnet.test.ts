import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatMagnet, isMagnetLink, MetainfoError, parseMagnet } from "../src/index.js";

const HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

/** RFC 4648 base32 of `bytes`, written independently of the parser's decoder. */
function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, "0"), 2)];
  return out;
}

function refusal(link: string): MetainfoError {
  try {
    parseMagnet(link);
  } catch (err) {
    if (err instanceof MetainfoError) return err;
    throw err;
  }
  throw new Error(`expected ${link} to be refused`);
}

describe("magnet links (BEP 9)", () => {
  it("reads the hash, name, trackers, peers and web seeds of a full link", () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ftracker.example%3A1337&tr=http://t.example/announce` +
        `&x.pe=10.0.0.5:6881&x.pe=%5B2001:DB8::1%5D:51413&ws=https%3A%2F%2Fmirror.example%2Ffiles%2F&xl=1048576&so=0,2,4-6`,
    );
    expect(m.infoHashHex).toBe(HEX);
    expect(m.infoHash).toHaveLength(20);
    expect(m.name).toBe("Big Buck Bunny");
    expect(m.trackers).toEqual(["udp://tracker.example:1337", "http://t.example/announce"]);
    expect(m.peers).toEqual([
      { ip: "10.0.0.5", port: 6881 },
      { ip: "2001:db8::1", port: 51413 },
    ]);
    expect(m.webSeeds).toEqual(["https://mirror.example/files/"]);
    expect(m.exactLength).toBe(1_048_576);
    expect(m.selectOnly).toEqual([0, 2, 4, 5, 6]);
    expect(m.warnings).toEqual([]);
  });

  it("takes a base32 hash, upper or lower case, and numbered repeated keys", () => {
    const bytes = Buffer.from(HEX, "hex");
    const m = parseMagnet(`MAGNET:?xt.1=urn:btih:${base32(bytes).toLowerCase()}&tr.1=http://a.example/x&tr.2=http://b.example/x&tr.3=http://a.example/x`);
    expect(m.infoHashHex).toBe(HEX);
    expect(m.trackers).toEqual(["http://a.example/x", "http://b.example/x"]);
    expect(isMagnetLink(" magnet:?xt=urn:btih:x")).toBe(true);
    expect(isMagnetLink("/tmp/magnet.torrent")).toBe(false);
  });

  it("refuses a link without a usable info hash with one line naming the part", () => {
    expect(refusal("magnet:?dn=x&tr=http://t/a").message).toBe("magnet link: no xt=urn:btih: parameter (the info hash)");
    expect(refusal(`magnet:?xt=urn:btih:${HEX.slice(1)}`).message).toMatch(/^magnet link: xt "urn:btih:.*": the info hash must be 40 hex digits or 32 base32 characters$/);
    expect(refusal("magnet:?xt=urn:btih:11111111111111111111111111111111").message).toMatch(/32 base32 characters/);
    expect(refusal(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${"0".repeat(40)}`).message).toBe("magnet link: two different urn:btih: info hashes");
    expect(refusal("magnet:?xt=urn%ZZ").message).toBe("magnet link: xt: malformed percent-encoding");
    expect(refusal("http://example.org/?xt=urn:btih:" + HEX).code).toBe("INVALID_MAGNET");
    const v2 = refusal(`magnet:?xt=urn:btmh:1220${"ab".repeat(32)}`);
    expect(v2.code).toBe("V2_ONLY");
    expect(v2.message).toMatch(/urn:btmh: \(BitTorrent v2\) is not supported/);
    // A hybrid link carries both: the v1 hash is used.
    expect(parseMagnet(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1220${"ab".repeat(32)}`).infoHashHex).toBe(HEX);
    expect(refusal(`magnet:?xt=urn:btih:${HEX}&tr=${"a".repeat(70_000)}`).message).toMatch(/over the limit of 65536/);
  });

  it("drops unusable optional parts with a warning instead of refusing the link", () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&tr=ftp://x/y&tr=%E0%A4%A&x.pe=host.example:80&x.pe=1.2.3.4:0&x.pe=300.1.1.1:5&ws=file:///etc/passwd&xl=-5&so=3-1`);
    expect(m.trackers).toEqual([]);
    expect(m.peers).toEqual([]);
    expect(m.webSeeds).toEqual([]);
    expect(m.exactLength).toBeUndefined();
    expect(m.selectOnly).toBeUndefined();
    expect(m.warnings).toHaveLength(8);
    for (const w of m.warnings) expect(w).toMatch(/ignored$/);
  });

  it("keeps at most the limits' worth of trackers and peers", () => {
    const trs = Array.from({ length: 5 }, (_, i) => `tr=http://t${i}.example/a`).join("&");
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&${trs}`, { maxLinkChars: 10_000, maxTrackers: 3, maxPeers: 1, maxWebSeeds: 1 });
    expect(m.trackers).toHaveLength(3);
    expect(m.warnings.filter((w) => /more than 3 trackers/.test(w))).toHaveLength(2);
  });

  it("property: hex and base32 spellings of any hash read as the same 20 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (bytes) => {
        const hex = Buffer.from(bytes).toString("hex");
        expect(parseMagnet(`magnet:?xt=urn:btih:${hex.toUpperCase()}`).infoHashHex).toBe(hex);
        expect(parseMagnet(`magnet:?xt=urn:btih:${base32(bytes)}`).infoHashHex).toBe(hex);
      }),
    );
  });

  it("property: a link formatted from any parts reads back the same parts", () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
    const peer = fc.record({ ip: ipv4, port: fc.integer({ min: 1, max: 65535 }) });
    const url = (scheme: string) => fc.webPath().map((p) => `${scheme}://host.example${p.startsWith("/") ? p : `/${p}`}`);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.option(fc.string({ unit: "grapheme", maxLength: 40 }), { nil: undefined }),
        fc.uniqueArray(fc.oneof(url("http"), url("udp")), { maxLength: 5 }),
        fc.uniqueArray(peer, { maxLength: 5, selector: (p) => `${p.ip}|${p.port}` }),
        fc.uniqueArray(url("https"), { maxLength: 3 }),
        fc.option(fc.nat(), { nil: undefined }),
        (hash, name, trackers, peers, webSeeds, exactLength) => {
          const infoHashHex = Buffer.from(hash).toString("hex");
          const parts = { infoHashHex, ...(name !== undefined ? { name } : {}), trackers, peers, webSeeds, ...(exactLength !== undefined ? { exactLength } : {}) };
          const m = parseMagnet(formatMagnet(parts));
          expect(m.infoHashHex).toBe(infoHashHex);
          expect(m.name).toBe(name);
          // The URL parser may normalise a path (percent-escapes): compare what it keeps.
          expect(m.trackers).toEqual(trackers);
          expect(m.peers).toEqual(peers);
          expect(m.webSeeds).toEqual(webSeeds);
          expect(m.exactLength).toBe(exactLength);
          expect(m.warnings).toEqual([]);
        },
      ),
    );
  });

  it("property: any text is parsed or refused with a MetainfoError, never another exception", () => {
    const piece = fc.oneof(
      fc.constantFrom("xt=urn:btih:", `xt=urn:btih:${HEX}`, "tr=", "x.pe=", "ws=", "dn=", "so=", "xl=", "%", "%E0", "&", "=", "[", "]:", "+"),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        try {
          parseMagnet(`magnet:?${pieces.join("")}`);
        } catch (err) {
          expect(err).toBeInstanceOf(MetainfoError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
