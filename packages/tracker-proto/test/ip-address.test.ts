import { describe, expect, it } from "vitest";
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
