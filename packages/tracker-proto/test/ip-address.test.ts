import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalIp, decodeCompactPeers, encodeCompactPeers } from "@shoal/tracker-proto";

describe("canonicalIp", () => {
  it.each([
    ["1.2.3.4", "1.2.3.4"],
    ["::", "::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::ffff:1.2.3.4", "::ffff:102:304"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ])("canonicalises %s as %s", (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });

  it.each(["1.2.3", "256.1.1.1", "01.1.1.1", "example.com", "1::2::3", "1:2:3:4:5:6:7:8:9", "", " 1.2.3.4"])("rejects %s", (text) => {
    expect(canonicalIp(text)).toBeUndefined();
  });
});

describe("compact peers", () => {
  it("round-trips IPv4 peers", () => {
    const peers = [
      { ip: "127.0.0.1", port: 1 },
      { ip: "255.254.0.9", port: 65535 },
    ];
    expect(decodeCompactPeers(encodeCompactPeers(peers), 4, 10)).toEqual(peers);
  });
});

describe("decoder properties", () => {
  it("canonicalIp returns undefined or a fixed point for any text (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6()), (text) => {
        const ip = canonicalIp(text);
        if (ip !== undefined) expect(canonicalIp(ip)).toBe(ip);
      }),
      { numRuns: 3000 },
    );
  });

  it("accepts every IPv4 and IPv6 literal (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        expect(canonicalIp(text)).toBeDefined();
      }),
    );
  });

  it("decodes any bytes into at most maxPeers dialable peers (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom<4 | 6>(4, 6), fc.integer({ min: 0, max: 40 }), (bytes, family, max) => {
        const peers = decodeCompactPeers(bytes, family, max);
        expect(peers.length).toBeLessThanOrEqual(max);
        for (const peer of peers) {
          expect(peer.port).toBeGreaterThan(0);
          expect(canonicalIp(peer.ip)).toBe(peer.ip);
        }
      }),
    );
  });

  it("round-trips dialable IPv4 peers through the compact form (property)", () => {
    const peer = fc.record({ ip: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }) }).filter((p) => p.ip !== "0.0.0.0");
    fc.assert(
      fc.property(fc.array(peer, { maxLength: 20 }), (peers) => {
        const canonical = peers.map((p) => ({ ip: canonicalIp(p.ip)!, port: p.port }));
        const bytes = encodeCompactPeers(canonical);
        expect(decodeCompactPeers(bytes, 4, 100)).toEqual(canonical);
        expect(encodeCompactPeers(decodeCompactPeers(bytes, 4, 100))).toEqual(bytes);
      }),
    );
  });
});
