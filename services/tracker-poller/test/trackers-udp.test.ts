import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TrackerError, UDP_MAX_ATTEMPTS, decodeUrlDataOptions } from "@shoal/tracker-proto";
import type { AnnounceParams } from "@shoal/tracker-proto";
import { UdpTrackerClient } from "../src/trackers/index.js";
import type { UdpTrackerClientOptions } from "../src/trackers/index.js";
import {
  LOOPBACK,
  OffsetClock,
  announceAnswer,
  connectAnswer,
  infoHashOf,
  peerIdOf,
  startFakeUdpTracker,
  startOpentracker,
  wellBehaved,
} from "./trackers-helpers.js";
import type { FakeUdpTracker, Opentracker } from "./trackers-helpers.js";

const HASH_HEX = "0dd0dd0dd0dd0dd0dd0dd0dd0dd0dd0dd0dd0dd0";
const infoHash = infoHashOf(HASH_HEX);
const CONNECT = 0;
const ANNOUNCE = 1;

function params(tag: string, port: number, extra: Partial<AnnounceParams> = {}): AnnounceParams {
  return { infoHash, peerId: peerIdOf(tag), port, uploaded: 0, downloaded: 0, left: 1000, numwant: 50, key: "00c0ffee", ...extra };
}

const clients: UdpTrackerClient[] = [];
const fakes: FakeUdpTracker[] = [];
function client(options: UdpTrackerClientOptions = {}): UdpTrackerClient {
  const c = new UdpTrackerClient({ bindAddress: LOOPBACK, baseTimeoutMs: 200, ...options });
  clients.push(c);
  return c;
}
async function fake(respond: Parameters<typeof startFakeUdpTracker>[0]): Promise<FakeUdpTracker> {
  const tracker = await startFakeUdpTracker(respond);
  fakes.push(tracker);
  return tracker;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function rejection(promise: Promise<unknown>): Promise<TrackerError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TrackerError);
    return err as TrackerError;
  }
  throw new Error("expected the request to fail");
}

describe("UdpTrackerClient against opentracker", () => {
  let tracker: Opentracker;
  beforeAll(async () => {
    tracker = await startOpentracker([HASH_HEX]);
  });
  afterAll(async () => {
    await tracker?.stop();
  });

  it("connects and announces, and two peers see each other until one stops", async () => {
    const udp = client();
    await udp.announce(tracker.udpUrl, params("a", 41001, { event: "started" }));
    const second = await udp.announce(tracker.udpUrl, params("b", 41002, { event: "started" }));
    expect(second.peers).toContainEqual({ ip: LOOPBACK, port: 41001 });
    expect(second.interval).toBeGreaterThanOrEqual(30);
    const again = await udp.announce(tracker.udpUrl, params("a", 41001));
    expect(again.peers).toContainEqual({ ip: LOOPBACK, port: 41002 });

    await udp.announce(tracker.udpUrl, params("b", 41002, { event: "stopped", numwant: 0 }));
    const after = await udp.announce(tracker.udpUrl, params("a", 41001));
    expect(after.peers).not.toContainEqual({ ip: LOOPBACK, port: 41002 });
  });

  it("scrapes over UDP", async () => {
    const udp = client();
    await udp.announce(tracker.udpUrl, params("seed", 41003, { event: "started", left: 0 }));
    const result = await udp.scrape(tracker.udpUrl, [infoHash]);
    expect(result.files.get(HASH_HEX)?.complete).toBeGreaterThanOrEqual(1);
  });

  it("rejects the bare header opentracker sends for a torrent it does not serve", async () => {
    const err = await rejection(client().announce(tracker.udpUrl, { ...params("c", 41004), infoHash: new Uint8Array(20).fill(0xee) }));
    expect(err).toMatchObject({ code: "BAD_RESPONSE", retryable: false, context: { field: "length" } });
  });
});

describe("UdpTrackerClient retransmission and matching", () => {
  it("retransmits a dropped connect and succeeds on the third send", async () => {
    let connects = 0;
    const tracker = await fake((request) => {
      if (request.action === CONNECT && ++connects <= 2) return undefined;
      return wellBehaved([{ ip: "10.1.2.3", port: 7000 }])(request);
    });
    const result = await client({ baseTimeoutMs: 20 }).announce(tracker.url, params("r", 1));
    expect(result.peers).toEqual([{ ip: "10.1.2.3", port: 7000 }]);
    expect(tracker.count(CONNECT)).toBe(3);
    expect(tracker.count(ANNOUNCE)).toBe(1);
  });

  it("gives up with TIMEOUT after the maximum number of attempts", async () => {
    const tracker = await fake(() => undefined);
    const err = await rejection(client({ baseTimeoutMs: 1 }).announce(tracker.url, params("t", 1)));
    expect(err).toMatchObject({ code: "TIMEOUT", retryable: true, context: { attempts: UDP_MAX_ATTEMPTS } });
    expect(tracker.count(CONNECT)).toBe(UDP_MAX_ATTEMPTS);
  });

  it("reuses a connection id for 60 s and then connects again", async () => {
    const clock = new OffsetClock();
    const tracker = await fake(wellBehaved([]));
    const udp = client({ clock });
    await udp.announce(tracker.url, params("c", 1));
    clock.offsetMs += 59_000;
    await udp.announce(tracker.url, params("c", 1));
    expect(tracker.count(CONNECT)).toBe(1);
    clock.offsetMs += 1_000;
    await udp.announce(tracker.url, params("c", 1));
    expect(tracker.count(CONNECT)).toBe(2);
    expect(tracker.count(ANNOUNCE)).toBe(3);
    const ids = tracker.requests.filter((r) => r.action === ANNOUNCE).map((r) => r.connectionId);
    expect(ids).toEqual([0x1122334455667788n, 0x1122334455667788n, 0x1122334455667788n]);
  });

  it("ignores answers from another address and with unknown transaction ids", async () => {
    const spoofer = await fake(() => undefined);
    const tracker = await fake((request) => {
      if (request.action === ANNOUNCE) {
        // A forged answer from another port, and one with a wrong transaction id, arrive first.
        spoofer.socket.send(announceAnswer(request.transactionId, [{ ip: "6.6.6.6", port: 666 }]), request.from.port, request.from.address);
        tracker.socket.send(announceAnswer(request.transactionId ^ 1, [{ ip: "6.6.6.7", port: 666 }]), request.from.port, request.from.address);
        tracker.socket.send(new Uint8Array(5), request.from.port, request.from.address);
      }
      return wellBehaved([{ ip: "10.0.0.9", port: 9 }])(request);
    });
    const result = await client().announce(tracker.url, params("s", 1));
    expect(result.peers).toEqual([{ ip: "10.0.0.9", port: 9 }]);
  });

  it("turns an error packet into FAILURE with the tracker's message and forgets the connection id", async () => {
    let refuse = true;
    const tracker = await fake((request) => {
      if (request.action === ANNOUNCE && refuse) {
        refuse = false;
        const text = new TextEncoder().encode("torrent banned");
        const out = new Uint8Array(8 + text.length);
        new DataView(out.buffer).setUint32(0, 3);
        new DataView(out.buffer).setUint32(4, request.transactionId);
        out.set(text, 8);
        return out;
      }
      return wellBehaved([])(request);
    });
    const udp = client();
    const err = await rejection(udp.announce(tracker.url, params("f", 1)));
    expect(err).toMatchObject({ code: "FAILURE", retryable: false, context: { reason: "torrent banned" } });
    await udp.announce(tracker.url, params("f", 1));
    expect(tracker.count(CONNECT)).toBe(2);
  });

  it("fails with BAD_RESPONSE when the tracker answers with the wrong action", async () => {
    const tracker = await fake((request) => connectAnswer(request.transactionId, 5n));
    const err = await rejection(client().announce(tracker.url, params("w", 1)));
    expect(err).toMatchObject({ code: "BAD_RESPONSE", context: { field: "action" } });
  });

  it("sends the URL path and query as BEP 41 URL data", async () => {
    const tracker = await fake(wellBehaved([]));
    await client().announce(`udp://${LOOPBACK}:${tracker.port}/announce?passkey=abc`, params("u", 1));
    const announce = tracker.requests.find((r) => r.action === ANNOUNCE)!;
    expect(announce.bytes.length).toBeGreaterThan(98);
    expect(decodeUrlDataOptions(announce.bytes.subarray(98))).toBe("/announce?passkey=abc");
  });

  it("uses random transaction ids from the injected source", async () => {
    const tracker = await fake(wellBehaved([]));
    let n = 0;
    await client({ random: () => [0.25, 0.5][n++ % 2]! }).announce(tracker.url, params("x", 1));
    expect(tracker.requests.map((r) => r.transactionId)).toEqual([0x40000000, 0x80000000]);
  });

  it("resolves host names with the injected lookup", async () => {
    const tracker = await fake(wellBehaved([{ ip: "10.0.0.1", port: 1 }]));
    const looked: string[] = [];
    const udp = client({ lookup: async (host) => (looked.push(host), LOOPBACK) });
    await udp.announce(`udp://tracker.invalid:${tracker.port}/announce`, params("d", 1));
    expect(looked).toEqual(["tracker.invalid"]);
    const failing = client({ lookup: async () => Promise.reject(new Error("ENOTFOUND")) });
    expect((await rejection(failing.announce(`udp://nowhere.invalid:${tracker.port}/`, params("d", 1)))).code).toBe("NETWORK");
  });

  it("rejects requests in flight with ABORTED on close and on abort", async () => {
    const tracker = await fake(() => undefined);
    const udp = client({ baseTimeoutMs: 10_000 });
    const controller = new AbortController();
    const aborted = udp.announce(tracker.url, params("a", 1), { signal: controller.signal });
    const closed = udp.announce(tracker.url, params("b", 2));
    await expect.poll(() => tracker.requests.length).toBe(2);
    controller.abort();
    expect((await rejection(aborted)).code).toBe("ABORTED");
    await udp.close();
    expect((await rejection(closed)).code).toBe("ABORTED");
  });
});
