import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrackerError } from "@shoal/tracker-proto";
import type { AnnounceParams, AnnounceResult, Peer } from "@shoal/tracker-proto";
import { Announcer, HttpTrackerClient, UdpTrackerClient } from "../src/trackers/index.js";
import type { AnnouncerOptions, RequestOptions, TrackerClient } from "../src/trackers/index.js";
import { LOOPBACK, ManualClock, freeTcpUdpPort, infoHashOf, peerIdOf, startOpentracker, waitUntil } from "./trackers-helpers.js";
import type { Opentracker } from "./trackers-helpers.js";

interface Call {
  readonly url: string;
  readonly params: AnnounceParams;
}

type Behaviour = (call: Call, signal: AbortSignal | undefined) => AnnounceResult | Promise<AnnounceResult>;

/** An in-memory tracker client: each URL behaves as the test says; every call is recorded. */
class FakeClient implements TrackerClient {
  readonly calls: Call[] = [];
  constructor(readonly behaviours: Record<string, Behaviour>) {}
  async announce(url: string, params: AnnounceParams, options: RequestOptions = {}): Promise<AnnounceResult> {
    const call = { url, params };
    this.calls.push(call);
    const behaviour = this.behaviours[url];
    if (!behaviour) throw new TrackerError("NETWORK", `no such tracker ${url}`);
    return behaviour(call, options.signal);
  }
}

const answer =
  (result: Partial<AnnounceResult> = {}): Behaviour =>
  () => ({ interval: 100, minInterval: 50, peers: [], ...result });
const refuse = (code: "NETWORK" | "FAILURE"): Behaviour => () => {
  throw new TrackerError(code, `tracker ${code}`);
};
/** Never answers; rejects with the abort reason when the request is cancelled. */
const hang: Behaviour = (_call, signal) =>
  new Promise((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true }));

const infoHash = infoHashOf("ab".repeat(20));

function setup(tiers: string[][], behaviours: Record<string, Behaviour>, extra: Partial<AnnouncerOptions> = {}) {
  const clock = new ManualClock();
  const client = new FakeClient(behaviours);
  const peers: [readonly Peer[], string][] = [];
  const warnings: [string, string][] = [];
  const errors: [string, TrackerError][] = [];
  const announcer = new Announcer({
    tiers,
    infoHash,
    peerId: peerIdOf("announcer"),
    port: 6881,
    stats: () => ({ uploaded: 1, downloaded: 2, left: 3 }),
    http: client,
    udp: client,
    clock,
    random: () => 0.99,
    onPeers: (p, source) => peers.push([p, source]),
    onWarning: (url, message) => warnings.push([url, message]),
    onError: (url, err) => errors.push([url, err]),
    ...extra,
  });
  return { clock, client, announcer, peers, warnings, errors, events: () => client.calls.map((c) => `${c.url} ${c.params.event ?? "-"}`) };
}

describe("Announcer", () => {
  it("sends started first, then re-announces at the interval with the same key and the tracker id", async () => {
    const peer = { ip: "10.0.0.1", port: 1 };
    const t = setup([["http://a/announce"]], { "http://a/announce": answer({ trackerId: Uint8Array.of(9), peers: [peer], warning: "hi" }) });
    await t.announcer.start();
    expect(t.client.calls[0]!.params).toMatchObject({ event: "started", numwant: 80, port: 6881, uploaded: 1, downloaded: 2, left: 3 });
    expect(t.client.calls[0]!.params.key).toMatch(/^[0-9a-f]{8}$/);
    expect(t.peers).toEqual([[[peer], "http://a/announce"]]);
    expect(t.warnings).toEqual([["http://a/announce", "hi"]]);
    expect(t.clock.pending()).toEqual([100_000]);

    t.clock.advance(100_000);
    await waitUntil(() => t.client.calls.length === 2, "the regular announce");
    const regular = t.client.calls[1]!.params;
    expect(regular.event).toBeUndefined();
    expect(regular.trackerId).toEqual(Uint8Array.of(9));
    expect(regular.key).toBe(t.client.calls[0]!.params.key);
    await t.announcer.stop();
  });

  it("fails over within a tier and then to the next tier, promoting the tracker that answered", async () => {
    const t = setup([["http://dead1/a", "http://dead2/a"], ["udp://live:1/a"]], {
      "http://dead1/a": refuse("NETWORK"),
      "http://dead2/a": refuse("FAILURE"),
      "udp://live:1/a": answer({ peers: [{ ip: "10.0.0.2", port: 2 }] }),
    });
    await t.announcer.start();
    expect(t.events()).toEqual(["http://dead1/a started", "http://dead2/a started", "udp://live:1/a started"]);
    expect(t.errors.map(([url, err]) => `${url} ${err.code}`)).toEqual(["http://dead1/a NETWORK", "http://dead2/a FAILURE"]);
    expect(t.peers.map(([, source]) => source)).toEqual(["udp://live:1/a"]);
    await t.announcer.stop();
  });

  it("asks the tracker that answered first on the next round", async () => {
    const t = setup([["http://dead/a", "http://live/a"]], { "http://dead/a": refuse("NETWORK"), "http://live/a": answer() });
    await t.announcer.start();
    expect(t.announcer.tiers).toEqual([["http://live/a", "http://dead/a"]]);
    t.clock.advance(100_000);
    await waitUntil(() => t.client.calls.length === 3, "the next round");
    expect(t.events()[2]).toBe("http://live/a -");
    await t.announcer.stop();
  });

  it("backs off exponentially when every tracker fails, then recovers", async () => {
    let up = false;
    const t = setup([["http://a/a"]], { "http://a/a": (call) => (up ? answer()(call, undefined) : refuse("NETWORK")(call, undefined)) });
    await t.announcer.start();
    expect(t.clock.pending()).toEqual([15_000]);
    t.clock.advance(15_000);
    await waitUntil(() => t.clock.pending()[0] === 15_000 + 30_000, "the first retry to fail");
    expect(t.client.calls).toHaveLength(2);
    up = true;
    t.clock.advance(30_000);
    await waitUntil(() => t.peers.length === 1, "the recovered announce");
    expect(t.events()).toEqual(["http://a/a started", "http://a/a started", "http://a/a started"]);
    expect(t.clock.pending()).toEqual([45_000 + 100_000]);
    await t.announcer.stop();
  });

  it("rate-limits announceNow by the minimum interval", async () => {
    const t = setup([["http://a/a"]], { "http://a/a": answer() });
    await t.announcer.start();
    await t.announcer.announceNow();
    expect(t.client.calls).toHaveLength(1);
    expect(t.clock.pending()).toEqual([50_000]);
    t.clock.advance(50_000);
    await waitUntil(() => t.clock.pending()[0] === 50_000 + 100_000, "the extra announce to finish");
    expect(t.client.calls).toHaveLength(2);
    t.clock.advance(50_000);
    await t.announcer.announceNow();
    expect(t.client.calls).toHaveLength(3);
    await t.announcer.stop();
  });

  it("sends completed once", async () => {
    const t = setup([["http://a/a"]], { "http://a/a": answer() });
    await t.announcer.start();
    await t.announcer.completed();
    await t.announcer.completed();
    expect(t.events()).toEqual(["http://a/a started", "http://a/a completed"]);
    await t.announcer.stop();
  });

  it("keeps a completed event that no tracker took for the next round", async () => {
    let up = true;
    const t = setup([["http://a/a"]], { "http://a/a": (call) => (up ? answer()(call, undefined) : refuse("NETWORK")(call, undefined)) });
    await t.announcer.start();
    up = false;
    await t.announcer.completed();
    up = true;
    t.clock.advance(15_000);
    await waitUntil(() => t.client.calls.length === 3, "the retry");
    expect(t.events()).toEqual(["http://a/a started", "http://a/a completed", "http://a/a completed"]);
    await t.announcer.stop();
  });

  it("sends stopped to every tracker that got started and clears its timers", async () => {
    let aUp = true;
    const t = setup([["http://a/a"], ["http://b/a"]], {
      "http://a/a": (call) => (aUp ? answer()(call, undefined) : refuse("NETWORK")(call, undefined)),
      "http://b/a": answer(),
    });
    await t.announcer.start();
    aUp = false;
    t.clock.advance(100_000);
    await waitUntil(() => t.client.calls.length === 3, "the fail-over");
    aUp = true;
    await t.announcer.stop();
    expect(t.events().slice(3).sort()).toEqual(["http://a/a stopped", "http://b/a stopped"]);
    expect(t.client.calls.slice(3).every((c) => c.params.numwant === 0)).toBe(true);
    expect(t.clock.pending()).toEqual([]);
    await t.announcer.announceNow();
    expect(t.client.calls).toHaveLength(5);
  });

  it("bounds the wait for stopped by the stop timeout", async () => {
    let hanging = false;
    const t = setup([["http://a/a"]], { "http://a/a": (call, signal) => (hanging ? hang(call, signal) : answer()(call, signal)) });
    await t.announcer.start();
    hanging = true;
    let stopped = false;
    const stopping = t.announcer.stop().then(() => (stopped = true));
    await waitUntil(() => t.client.calls.length === 2, "the stopped announce");
    expect(stopped).toBe(false);
    t.clock.advance(3_000);
    await stopping;
    expect(t.errors.map(([, err]) => err.code)).toEqual(["TIMEOUT"]);
  });

  it("cancels a round in flight on stop without reporting the cancellation", async () => {
    const t = setup([["http://a/a"]], { "http://a/a": hang });
    const starting = t.announcer.start();
    await waitUntil(() => t.client.calls.length === 1, "the started announce");
    await t.announcer.stop();
    await starting;
    expect(t.errors).toEqual([]);
    expect(t.client.calls).toHaveLength(1);
  });

  it("skips trackers without a client and ignores unsupported schemes with a reason", async () => {
    const client = new FakeClient({ "http://b/a": answer() });
    const errors: string[] = [];
    const announcer = new Announcer({
      tiers: [["udp://a:1/a", "wss://w/a"], ["http://b/a"]],
      infoHash,
      peerId: peerIdOf("x"),
      port: 1,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
      http: client,
      clock: new ManualClock(),
      onError: (url, err) => errors.push(`${url} ${err.code}`),
    });
    await announcer.start();
    expect(errors).toEqual(["udp://a:1/a UNSUPPORTED_SCHEME"]);
    expect(announcer.ignoredTrackers).toEqual([{ url: "wss://w/a", reason: "scheme wss: is not supported" }]);
    expect(client.calls.map((c) => c.url)).toEqual(["http://b/a"]);
    await announcer.stop();
  });

  it("gives a tracker that does not answer only trackerTimeoutMs before moving on", async () => {
    const t = setup([["http://slow/a"], ["http://b/a"]], { "http://slow/a": hang, "http://b/a": answer() }, { trackerTimeoutMs: 1000 });
    const starting = t.announcer.start();
    await waitUntil(() => t.client.calls.length === 1, "the first tracker");
    t.clock.advance(1000);
    await starting;
    expect(t.errors.map(([url, err]) => `${url} ${err.code}`)).toEqual(["http://slow/a TIMEOUT"]);
    expect(t.events()).toEqual(["http://slow/a started", "http://b/a started"]);
    await t.announcer.stop();
  });
});

describe("Announcer against opentracker", () => {
  const HASH_HEX = "feedfacefeedfacefeedfacefeedfacefeedface";
  let tracker: Opentracker;
  beforeAll(async () => {
    tracker = await startOpentracker([HASH_HEX]);
  });
  afterAll(async () => {
    await tracker?.stop();
  });

  it("fails over from a dead first tier to opentracker, gets its peers, and stops cleanly", async () => {
    const http = new HttpTrackerClient({ timeoutMs: 2000 });
    const udp = new UdpTrackerClient({ bindAddress: LOOPBACK, baseTimeoutMs: 200 });
    const other = { infoHash: infoHashOf(HASH_HEX), peerId: peerIdOf("other"), port: 42001, uploaded: 0, downloaded: 0, left: 0 };
    await http.announce(tracker.httpUrl, { ...other, event: "started" });

    const deadPort = await freeTcpUdpPort();
    const found: Peer[] = [];
    const errors: string[] = [];
    const announcer = new Announcer({
      tiers: [[`http://${LOOPBACK}:${deadPort}/announce`], [tracker.udpUrl]],
      infoHash: infoHashOf(HASH_HEX),
      peerId: peerIdOf("announcer"),
      port: 42002,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 100 }),
      http,
      udp,
      onPeers: (peers) => found.push(...peers),
      onError: (url, err) => errors.push(`${url} ${err.code}`),
    });
    await announcer.start();
    expect(errors).toEqual([`http://${LOOPBACK}:${deadPort}/announce NETWORK`]);
    expect(found).toContainEqual({ ip: LOOPBACK, port: 42001 });
    expect((await http.announce(tracker.httpUrl, other)).peers).toContainEqual({ ip: LOOPBACK, port: 42002 });

    await announcer.stop();
    expect((await http.announce(tracker.httpUrl, other)).peers).not.toContainEqual({ ip: LOOPBACK, port: 42002 });
    await udp.close();
  });
});
