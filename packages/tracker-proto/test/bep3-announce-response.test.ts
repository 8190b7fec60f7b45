import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode, DecodeError } from "@shoal/bencode";
import {
  ANNOUNCE_INTERVAL_DEFAULT_S,
  ANNOUNCE_INTERVAL_MAX_S,
  ANNOUNCE_INTERVAL_MIN_S,
  TrackerError,
  encodeCompactPeers,
  parseAnnounceResponse,
} from "@shoal/tracker-proto";

const limits = { maxBytes: 1 << 20, maxPeers: 1000 };

function errorOf(f: () => unknown): TrackerError {
  try {
    f();
  } catch (err) {
    if (err instanceof TrackerError) return err;
    throw err;
  }
  throw new Error("expected a TrackerError");
}

describe("parseAnnounceResponse", () => {
  it("reads compact peers, counters, intervals and the tracker id", () => {
    const peers = encodeCompactPeers([
      { ip: "1.2.3.4", port: 6881 },
      { ip: "127.0.0.1", port: 65535 },
    ]);
    const bytes = encode({ interval: 1800, "min interval": 900, complete: 3, incomplete: 7, "tracker id": "abc", peers });
    const result = parseAnnounceResponse(bytes, limits);
    expect(result).toEqual({
      interval: 1800,
      minInterval: 900,
      complete: 3,
      incomplete: 7,
      trackerId: new TextEncoder().encode("abc"),
      peers: [
        { ip: "1.2.3.4", port: 6881 },
        { ip: "127.0.0.1", port: 65535 },
      ],
    });
  });

  it("truncates a compact peer string whose length is not a multiple of 6", () => {
    const peers = new Uint8Array([1, 2, 3, 4, 0x1a, 0xe1, 9, 9, 9]);
    expect(parseAnnounceResponse(encode({ interval: 60, peers }), limits).peers).toEqual([{ ip: "1.2.3.4", port: 6881 }]);
  });

  it("reads dictionary peers, skipping host names and port 0", () => {
    const bytes = encode({
      interval: 60,
      peers: [
        { ip: "10.0.0.1", port: 1, "peer id": new Uint8Array(20) },
        { ip: "2001:DB8:0:0::1", port: 2 },
        { ip: "tracker.example", port: 3 },
        { ip: "10.0.0.2", port: 0 },
      ],
    });
    expect(parseAnnounceResponse(bytes, limits).peers).toEqual([
      { ip: "10.0.0.1", port: 1 },
      { ip: "2001:db8::1", port: 2 },
    ]);
  });

  it("reads IPv6 peers from peers6 (BEP 7)", () => {
    const entry = new Uint8Array(18);
    entry[0] = 0x20;
    entry[1] = 0x01;
    entry[15] = 1;
    entry[16] = 0x1a;
    entry[17] = 0xe1;
    const result = parseAnnounceResponse(encode({ interval: 60, peers: new Uint8Array(0), peers6: entry }), limits);
    expect(result.peers).toEqual([{ ip: "2001::1", port: 6881 }]);
  });

  it("drops port-0 and duplicate peers and caps the count", () => {
    const peers = encodeCompactPeers([
      { ip: "1.1.1.1", port: 0 },
      { ip: "1.1.1.1", port: 1 },
      { ip: "1.1.1.1", port: 1 },
      { ip: "1.1.1.2", port: 1 },
      { ip: "1.1.1.3", port: 1 },
    ]);
    const result = parseAnnounceResponse(encode({ interval: 60, peers }), { ...limits, maxPeers: 2 });
    expect(result.peers).toEqual([
      { ip: "1.1.1.1", port: 1 },
      { ip: "1.1.1.2", port: 1 },
    ]);
  });

  it("clamps silly intervals and defaults a missing one", () => {
    expect(parseAnnounceResponse(encode({ interval: 0, peers: "" }), limits).interval).toBe(ANNOUNCE_INTERVAL_MIN_S);
    expect(parseAnnounceResponse(encode({ interval: -5, peers: "" }), limits).interval).toBe(ANNOUNCE_INTERVAL_MIN_S);
    const huge = parseAnnounceResponse(encode({ interval: 2n ** 70n, "min interval": 2n ** 70n, peers: "" }), limits);
    expect(huge).toMatchObject({ interval: ANNOUNCE_INTERVAL_MAX_S, minInterval: ANNOUNCE_INTERVAL_MAX_S });
    expect(parseAnnounceResponse(encode({ peers: "" }), limits).interval).toBe(ANNOUNCE_INTERVAL_DEFAULT_S);
    expect(parseAnnounceResponse(encode({ interval: 100, "min interval": 500, peers: "" }), limits).minInterval).toBe(100);
  });

  it("turns a failure reason into FAILURE carrying the text", () => {
    const err = errorOf(() => parseAnnounceResponse(encode({ "failure reason": "torrent not registered" }), limits));
    expect(err.code).toBe("FAILURE");
    expect(err.retryable).toBe(false);
    expect(err.context["reason"]).toBe("torrent not registered");
    expect(err.message).toContain("torrent not registered");
  });

  it("returns a warning message alongside the peers", () => {
    const result = parseAnnounceResponse(encode({ interval: 60, peers: "", "warning message": "upgrade\nyour client" }), limits);
    expect(result.warning).toBe("upgrade your client");
  });

  it("names the field of a wrongly typed value", () => {
    expect(errorOf(() => parseAnnounceResponse(encode({ interval: "x", peers: "" }), limits)).context["field"]).toBe("interval");
    expect(errorOf(() => parseAnnounceResponse(encode({ interval: 1, peers: 5 }), limits)).context["field"]).toBe("peers");
    const err = errorOf(() => parseAnnounceResponse(encode({ interval: 1, peers: [{ ip: "1.1.1.1", port: "x" }] }), limits));
    expect(err).toMatchObject({ code: "BAD_RESPONSE", context: { field: "peers[0].port" } });
    expect(errorOf(() => parseAnnounceResponse(encode({ complete: -1 }), limits)).context["field"]).toBe("complete");
  });

  it("rejects non-dictionaries and bad bencode as BAD_RESPONSE with the decode error as cause", () => {
    expect(errorOf(() => parseAnnounceResponse(encode([1, 2]), limits)).code).toBe("BAD_RESPONSE");
    const err = errorOf(() => parseAnnounceResponse(new TextEncoder().encode("<html>busy</html>"), limits));
    expect(err.code).toBe("BAD_RESPONSE");
    expect(err.cause).toBeInstanceOf(DecodeError);
  });

  it("ignores bytes after the dictionary", () => {
    const bytes = new Uint8Array([...encode({ interval: 60, peers: "" }), 0x0a]);
    expect(parseAnnounceResponse(bytes, limits).peers).toEqual([]);
  });

  it("rejects responses over maxBytes as TOO_LARGE", () => {
    const bytes = encode({ interval: 60, peers: new Uint8Array(600) });
    expect(errorOf(() => parseAnnounceResponse(bytes, { maxBytes: 100, maxPeers: 10 })).code).toBe("TOO_LARGE");
  });

  it("maps arbitrary bytes to a result or a TrackerError (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        check(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("maps arbitrary announce-like dictionaries to a result or a TrackerError (property)", () => {
    const value = fc.oneof(fc.integer(), fc.bigInt(), fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 20 }));
    const peerDict = fc.dictionary(fc.constantFrom("ip", "port", "peer id"), fc.oneof(value, fc.constantFrom("1.2.3.4", "::1")));
    const response = fc.dictionary(
      fc.constantFrom("interval", "min interval", "peers", "peers6", "complete", "incomplete", "tracker id", "warning message", "failure reason"),
      fc.oneof(value, fc.array(peerDict, { maxLength: 5 })),
    );
    fc.assert(
      fc.property(response, (dict) => {
        check(encode(dict));
      }),
      { numRuns: 2000 },
    );
  });
});

function check(bytes: Uint8Array): void {
  try {
    const result = parseAnnounceResponse(bytes, { maxBytes: 1 << 20, maxPeers: 50 });
    expect(result.interval).toBeGreaterThanOrEqual(ANNOUNCE_INTERVAL_MIN_S);
    expect(result.interval).toBeLessThanOrEqual(ANNOUNCE_INTERVAL_MAX_S);
    expect(result.peers.length).toBeLessThanOrEqual(50);
    for (const peer of result.peers) expect(peer.port).toBeGreaterThan(0);
  } catch (err) {
    expect(err).toBeInstanceOf(TrackerError);
  }
}
