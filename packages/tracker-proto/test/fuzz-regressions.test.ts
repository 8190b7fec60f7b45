import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCompactPeers, decodeUdpAnnounceResponse, encodeCompactPeers } from "@shoal/tracker-proto";

/*
 * Inputs `npm run fuzz` found (docs/FUZZING.md), minimised and kept as files in fuzz-regressions/
 * exactly as the fuzzer wrote them, so each fix stays fixed.
 */

function regression(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(import.meta.dirname, "fuzz-regressions", name)));
}

describe("inputs the fuzzer found", () => {
  it("a UDP announce answer listing one peer twice yields it once (udp-announce-duplicate-peers.bin)", () => {
    // Action 1 (announce), transaction id "0000", interval, leechers and seeders "0000", then
    // the peer 121.121.121.121:31097 twice.
    const bytes = regression("udp-announce-duplicate-peers.bin");
    const transactionId = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4);
    const result = decodeUdpAnnounceResponse(bytes, transactionId, { maxPeers: 50 });
    expect(result.peers).toEqual([{ ip: "121.121.121.121", port: 0x7979 }]);
  });

  it("repeated compact entries do not use up maxPeers, so the peers after them still count", () => {
    const a = { ip: "10.0.0.1", port: 6881 };
    const b = { ip: "10.0.0.2", port: 6881 };
    const bytes = encodeCompactPeers([a, a, a, a, b]);
    expect(decodeCompactPeers(bytes, 4, 2)).toEqual([a, b]);
  });
});
