import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  CONNECTION_ID_TTL_MS,
  TrackerError,
  UDP_MAX_ATTEMPTS,
  UDP_PROTOCOL_ID,
  decodeConnectResponse,
  decodeUdpAnnounceResponse,
  decodeUdpScrapeResponse,
  decodeUrlDataOptions,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
  encodeUrlDataOptions,
  parseUdpTrackerUrl,
  readUdpResponseHeader,
  udpRetransmitTimeoutMs,
} from "@shoal/tracker-proto";

const infoHash = new Uint8Array(20).fill(0xab);
const peerId = new Uint8Array(20).fill(0x2d);

function packet(...fields: [number, number | bigint][]): Uint8Array {
  const size = fields.reduce((n, [bytes]) => n + bytes, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [bytes, value] of fields) {
    if (bytes === 8) view.setBigUint64(at, BigInt(value));
    else if (bytes === 4) view.setUint32(at, Number(value));
    else if (bytes === 2) view.setUint16(at, Number(value));
    else out[at] = Number(value);
    at += bytes;
  }
  return out;
}

function errorOf(f: () => unknown): TrackerError {
  try {
    f();
  } catch (err) {
    if (err instanceof TrackerError) return err;
    throw err;
  }
  throw new Error("expected a TrackerError");
}

describe("BEP 15 constants", () => {
  it("retransmits after 15 * 2^n seconds for n = 0..8", () => {
    expect(UDP_PROTOCOL_ID).toBe(0x41727101980n);
    expect(UDP_MAX_ATTEMPTS).toBe(9);
    expect(CONNECTION_ID_TTL_MS).toBe(60_000);
    expect(udpRetransmitTimeoutMs(0)).toBe(15_000);
    expect(udpRetransmitTimeoutMs(8)).toBe(3_840_000);
    expect(udpRetransmitTimeoutMs(3, 200)).toBe(1600);
  });
});

describe("UDP requests", () => {
  it("encodes a connect request", () => {
    expect(encodeConnectRequest(0xdeadbeef)).toEqual(packet([8, UDP_PROTOCOL_ID], [4, 0], [4, 0xdeadbeef]));
  });

  it("encodes an announce request with BEP 41 URL data", () => {
    const bytes = encodeAnnounceRequest({
      connectionId: 0x0102030405060708n,
      transactionId: 7,
      params: { infoHash, peerId, port: 6881, uploaded: 3, downloaded: 2, left: 1n, event: "started", key: "0000abcd", numwant: 80 },
      urlData: "/announce?passkey=x",
    });
    const view = new DataView(bytes.buffer);
    expect(view.getBigUint64(0)).toBe(0x0102030405060708n);
    expect(view.getUint32(8)).toBe(1);
    expect(view.getUint32(12)).toBe(7);
    expect(bytes.subarray(16, 36)).toEqual(infoHash);
    expect(bytes.subarray(36, 56)).toEqual(peerId);
    expect([view.getBigUint64(56), view.getBigUint64(64), view.getBigUint64(72)]).toEqual([2n, 1n, 3n]);
    expect(view.getUint32(80)).toBe(2);
    expect(view.getUint32(84)).toBe(0);
    expect(view.getUint32(88)).toBe(0xabcd);
    expect(view.getInt32(92)).toBe(80);
    expect(view.getUint16(96)).toBe(6881);
    expect(decodeUrlDataOptions(bytes.subarray(98))).toBe("/announce?passkey=x");
  });

  it("asks for the default peer count and sends no event when none are given", () => {
    const bytes = encodeAnnounceRequest({
      connectionId: 1n,
      transactionId: 1,
      params: { infoHash, peerId, port: 1, uploaded: 0, downloaded: 0, left: 0 },
    });
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(98);
    expect(view.getUint32(80)).toBe(0);
    expect(view.getInt32(92)).toBe(-1);
  });

  it("encodes a scrape request and refuses more than 74 hashes", () => {
    const bytes = encodeScrapeRequest({ connectionId: 5n, transactionId: 9, infoHashes: [infoHash, peerId] });
    expect(bytes.length).toBe(16 + 40);
    expect(new DataView(bytes.buffer).getUint32(8)).toBe(2);
    expect(errorOf(() => encodeScrapeRequest({ connectionId: 5n, transactionId: 9, infoHashes: new Array(75).fill(infoHash) })).code).toBe(
      "INVALID_ARGUMENT",
    );
  });

  it("splits long URL data into 255-byte options", () => {
    const path = "/" + "p".repeat(600);
    const options = encodeUrlDataOptions(path);
    expect([options[0], options[1], options[257], options[258], options[514], options[515]]).toEqual([2, 255, 2, 255, 2, 91]);
    expect(decodeUrlDataOptions(options)).toBe(path);
    expect(errorOf(() => encodeUrlDataOptions("x".repeat(2000))).code).toBe("INVALID_URL");
  });
});

describe("UDP responses", () => {
  it("decodes a connect response", () => {
    expect(decodeConnectResponse(packet([4, 0], [4, 42], [8, 0xfedcba9876543210n]), 42)).toEqual({ connectionId: 0xfedcba9876543210n });
  });

  it("decodes an announce response with IPv4 peers", () => {
    const bytes = packet([4, 1], [4, 5], [4, 1800], [4, 3], [4, 4], [1, 10], [1, 0], [1, 0], [1, 1], [2, 6881], [1, 1], [1, 1], [1, 1], [1, 1], [2, 0], [1, 9]);
    expect(decodeUdpAnnounceResponse(bytes, 5, { maxPeers: 10 })).toEqual({
      interval: 1800,
      incomplete: 3,
      complete: 4,
      peers: [{ ip: "10.0.0.1", port: 6881 }],
    });
  });

  it("decodes a scrape response in request order", () => {
    const bytes = packet([4, 2], [4, 6], [4, 1], [4, 2], [4, 3]);
    const result = decodeUdpScrapeResponse(bytes, 6, [infoHash, peerId]);
    expect([...result.files]).toEqual([["ab".repeat(20), { complete: 1, downloaded: 2, incomplete: 3 }]]);
  });

  it("turns an error action into FAILURE with the tracker's message", () => {
    const bytes = new Uint8Array([...packet([4, 3], [4, 8]), ...new TextEncoder().encode("unregistered torrent")]);
    const err = errorOf(() => decodeUdpAnnounceResponse(bytes, 8, { maxPeers: 10 }));
    expect(err.code).toBe("FAILURE");
    expect(err.context["reason"]).toBe("unregistered torrent");
  });

  it("rejects a wrong action, a wrong transaction id and a short packet", () => {
    expect(errorOf(() => decodeConnectResponse(packet([4, 1], [4, 1], [8, 1n]), 1)).context["field"]).toBe("action");
    expect(errorOf(() => decodeConnectResponse(packet([4, 0], [4, 2], [8, 1n]), 1)).context["field"]).toBe("transaction_id");
    expect(errorOf(() => decodeConnectResponse(packet([4, 0], [4, 1], [4, 1]), 1)).context["field"]).toBe("length");
    expect(readUdpResponseHeader(new Uint8Array(7))).toBeUndefined();
  });

  it("maps arbitrary bytes to a value or a TrackerError for every decoder (property)", () => {
    const header = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 1, 0xffffffff));
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(header, fc.uint8Array({ maxLength: 200 })).map(([[action, tid], rest]) => new Uint8Array([...packet([4, action], [4, tid]), ...rest])),
    );
    fc.assert(
      fc.property(datagram, fc.constantFrom(0, 1, 0xffffffff), (bytes, tid) => {
        for (const decodeOne of [
          () => decodeConnectResponse(bytes, tid),
          () => decodeUdpAnnounceResponse(bytes, tid, { maxPeers: 5 }),
          () => decodeUdpScrapeResponse(bytes, tid, [infoHash]),
          () => decodeUrlDataOptions(bytes),
        ]) {
          try {
            decodeOne();
          } catch (err) {
            expect(err).toBeInstanceOf(TrackerError);
          }
        }
        readUdpResponseHeader(bytes);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("parseUdpTrackerUrl", () => {
  it("reads host, port and URL data", () => {
    expect(parseUdpTrackerUrl("udp://tracker.example.org:6969/announce?k=1#x")).toEqual({
      host: "tracker.example.org",
      port: 6969,
      urlData: "/announce?k=1",
    });
    expect(parseUdpTrackerUrl("udp://[::1]:80")).toEqual({ host: "::1", port: 80, urlData: "" });
  });

  it.each(["udp://host/announce", "udp://host:0/", "udp://host:99999/", "udp://bad_host!:80/", "udp://:80/"])("rejects %s", (url) => {
    expect(errorOf(() => parseUdpTrackerUrl(url)).code).toBe("INVALID_URL");
  });

  it("maps any text to an address or a TrackerError (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl().map((u) => u.replace(/^https?/, "udp"))), (text) => {
        try {
          const address = parseUdpTrackerUrl(text);
          expect(address.port).toBeGreaterThan(0);
          expect(address.port).toBeLessThanOrEqual(65535);
        } catch (err) {
          expect(err).toBeInstanceOf(TrackerError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects other schemes", () => {
    expect(errorOf(() => parseUdpTrackerUrl("http://host:80/")).code).toBe("UNSUPPORTED_SCHEME");
  });
});
