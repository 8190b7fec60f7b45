import { afterEach, describe, expect, it } from "vitest";
import {
  PEX_FLAGS,
  SHOAL_UT_PEX_ID,
  UT_PEX,
  decodeExtensionHandshake,
  decodePexMessage,
  encodeExtensionHandshake,
  encodeMessage,
  encodePexMessage,
  type PexMessage,
} from "@shoal/wire";
import { makeFixture, type TorrentFixture } from "../../../test/sim/torrent-fixture.js";
import { PEX_MIN_RECEIVE_INTERVAL_MS, PEX_SEND_INTERVAL_MS } from "../src/pex-policy.js";
import type { StubSocket } from "./stub-socket.js";
import { testSwarm, type TestSwarm, type TestSwarmOptions } from "./swarm-kit.js";

const fixture = makeFixture({ pieceLength: 32 * 1024, size: 8 * 32 * 1024, seed: 11 });
const privateFixture: TorrentFixture = { ...fixture, meta: { ...fixture.meta, private: true } };
/** The id our test peers want ut_pex messages sent with. */
const THEIR_PEX_ID = 7;

let open: TestSwarm | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

let clock = 1_000_000;
async function start(f: TorrentFixture = fixture, opts: TestSwarmOptions = {}): Promise<TestSwarm> {
  clock = 1_000_000;
  open = await testSwarm(f, { now: () => clock, ...opts });
  return open;
}

function extensionHandshake(opts: { pex?: boolean; listenPort?: number } = {}): Buffer {
  return encodeMessage({
    type: "extended",
    id: 0,
    payload: encodeExtensionHandshake({ extensions: opts.pex === false ? {} : { [UT_PEX]: THEIR_PEX_ID }, ...(opts.listenPort ? { listenPort: opts.listenPort } : {}) }),
  });
}

const pexFrom = (m: PexMessage) => encodeMessage({ type: "extended", id: SHOAL_UT_PEX_ID, payload: encodePexMessage(m) });
const added = (n: number, from = 0, flags = 0) => Array.from({ length: n }, (_, i) => ({ ip: `10.9.${(from + i) >> 8}.${(from + i) & 0xff}`, port: 51413, flags }));
const pexSent = (socket: StubSocket) => socket.sentOf("extended").filter((m) => m.id === THEIR_PEX_ID).map((m) => decodePexMessage(m.payload));
const ourHandshake = (socket: StubSocket) => decodeExtensionHandshake(socket.sentOf("extended").find((m) => m.id === 0)!.payload);
const known = (t: TestSwarm) => t.swarm.status()["knownPeers"] as number;

describe("ut_pex in the extension handshake", () => {
  it("is offered for a public torrent", async () => {
    const t = await start();
    const { socket } = t.connect({ extended: true });
    expect(ourHandshake(socket).extensions.get(UT_PEX)).toBe(SHOAL_UT_PEX_ID);
  });

  it("is not offered for a private torrent (BEP 27)", async () => {
    const t = await start(privateFixture);
    const { socket } = t.connect({ extended: true });
    expect(ourHandshake(socket).extensions.has(UT_PEX)).toBe(false);
  });
});

describe("peers a connected peer tells us of", () => {
  // One connection and room for no other: nothing is dialled, so what PEX teaches stays in the
  // address book and the registry.
  const start1 = (f: TorrentFixture = fixture, opts: TestSwarmOptions = {}) => start(f, { ...opts, config: { maxConnections: 1 } });

  it("go to the address book, 50 of a message at most, and into the registry as free peers", async () => {
    const t = await start1();
    const { input } = t.connect({ extended: true });
    input.push(Buffer.concat([extensionHandshake(), pexFrom({ added: added(80), dropped: added(80, 200) })]));
    expect(known(t)).toBe(50);
    expect(t.swarm.pex.stats).toMatchObject({ read: 1, learned: 50 });
    // Another worker with room takes them from the registry: they are known there and free.
    await expect.poll(async () => (await t.claims.knownPeers(fixture.infoHashHex)).filter((p) => p.peer.endsWith(":51413"))).toHaveLength(50);
    const registry = await t.claims.knownPeers(fixture.infoHashHex);
    expect(registry.filter((p) => p.peer.endsWith(":51413") && p.owner !== undefined)).toEqual([]);
  });

  it("are read once per interval: a second message sooner is ignored", async () => {
    const t = await start1();
    const { input } = t.connect({ extended: true });
    input.push(Buffer.concat([extensionHandshake(), pexFrom({ added: added(2), dropped: [] })]));
    clock += PEX_MIN_RECEIVE_INTERVAL_MS - 1_000;
    input.push(pexFrom({ added: added(3, 100), dropped: [] }));
    expect(known(t)).toBe(2);
    clock += 1_000;
    input.push(pexFrom({ added: added(3, 100), dropped: [] }));
    expect(known(t)).toBe(5);
    expect(t.swarm.pex.stats).toMatchObject({ read: 2, ignored: 1 });
  });

  it("are ignored when the message is over the size cap, and the connection stays", async () => {
    const t = await start1();
    const { input, key } = t.connect({ extended: true });
    // 1,500 IPv4 peers: 9 KB of added and 1.5 KB of flags.
    input.push(Buffer.concat([extensionHandshake(), pexFrom({ added: added(1500), dropped: [] })]));
    expect(known(t)).toBe(0);
    expect(t.swarm.conns.get(key)?.closed).toBe(false);
    expect(t.swarm.pex.stats.ignored).toBe(1);
  });

  it("close the connection when the message is malformed", async () => {
    const t = await start1();
    const { input, key } = t.connect({ extended: true });
    const broken = Buffer.from("d5:added5:abcdee");
    input.push(Buffer.concat([extensionHandshake(), encodeMessage({ type: "extended", id: SHOAL_UT_PEX_ID, payload: broken })]));
    expect(t.swarm.conns.has(key)).toBe(false);
  });

  it("leave out our own listen address", async () => {
    const t = await start1(fixture, { listenPort: 47_123 });
    const { input } = t.connect({ extended: true });
    input.push(Buffer.concat([extensionHandshake(), pexFrom({ added: [{ ip: "127.0.0.1", port: 47_123, flags: 0 }, ...added(1)], dropped: [] })]));
    expect(known(t)).toBe(1);
    expect(t.swarm.pex.stats.learned).toBe(1);
  });

  it("are ignored for a private torrent", async () => {
    const t = await start1(privateFixture);
    const { input, key } = t.connect({ extended: true });
    input.push(Buffer.concat([extensionHandshake(), pexFrom({ added: added(5), dropped: [] })]));
    expect(known(t)).toBe(0);
    expect(t.swarm.conns.get(key)?.closed).toBe(false);
    expect(t.swarm.pex.stats).toMatchObject({ read: 0, ignored: 1, learned: 0 });
  });

  it("skip seeds once the download is complete", async () => {
    const t = await start1(fixture, { stored: Array.from({ length: fixture.pieceCount }, (_, i) => i) });
    const { input } = t.connect({ extended: true });
    input.push(Buffer.concat([extensionHandshake(), pexFrom({ added: [...added(2, 0, PEX_FLAGS.seed), ...added(1, 10)], dropped: [] })]));
    expect(t.swarm.pex.stats.learned).toBe(1);
  });
});

describe("what we tell peers", () => {
  it("first our connections but the peer itself, right after its handshake, at their listen addresses", async () => {
    const t = await start();
    t.connect({ key: "10.0.0.1:6881", outgoing: true });
    const accepted = t.connect({ key: "10.0.0.2:40001", extended: true });
    accepted.input.push(extensionHandshake({ pex: false, listenPort: 6889 }));
    t.connect({ key: "10.0.0.3:40002" });
    const to = t.connect({ key: "10.0.0.4:6881", outgoing: true, extended: true });
    to.input.push(extensionHandshake());
    const sent = pexSent(to.socket);
    expect(sent).toHaveLength(1);
    // The accepted connection without a listen port cannot be dialled at the port it came from.
    expect(sent[0]!.added).toEqual([
      { ip: "10.0.0.1", port: 6881, flags: PEX_FLAGS.outgoing },
      { ip: "10.0.0.2", port: 6889, flags: 0 },
    ]);
    expect(sent[0]!.dropped).toEqual([]);
  });

  it("then what changed, at most once a minute", async () => {
    const t = await start();
    const first = t.connect({ key: "10.0.0.1:6881", outgoing: true });
    const to = t.connect({ key: "10.0.0.4:6881", outgoing: true, extended: true });
    to.input.push(extensionHandshake());
    first.socket.destroy();
    t.connect({ key: "10.0.0.5:6881", outgoing: true });
    await expect.poll(() => t.swarm.conns.has("10.0.0.1:6881")).toBe(false);
    t.swarm.pex.tick();
    expect(pexSent(to.socket)).toHaveLength(1);
    clock += PEX_SEND_INTERVAL_MS;
    t.swarm.pex.tick();
    const sent = pexSent(to.socket);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual({ added: [{ ip: "10.0.0.5", port: 6881, flags: PEX_FLAGS.outgoing }], dropped: [{ ip: "10.0.0.1", port: 6881 }] });
    clock += PEX_SEND_INTERVAL_MS;
    t.swarm.pex.tick();
    // Nothing changed: nothing sent.
    expect(pexSent(to.socket)).toHaveLength(2);
  });

  it("nothing to peers that do not speak ut_pex, nor to anyone for a private torrent", async () => {
    const plain = await start();
    plain.connect({ key: "10.0.0.1:6881", outgoing: true });
    const silent = plain.connect({ key: "10.0.0.2:6881", outgoing: true, extended: true });
    silent.input.push(extensionHandshake({ pex: false }));
    clock += PEX_SEND_INTERVAL_MS;
    plain.swarm.pex.tick();
    expect(silent.socket.sentOf("extended").filter((m) => m.id !== 0)).toEqual([]);
    await plain.close();

    const t = await start(privateFixture);
    t.connect({ key: "10.0.0.1:6881", outgoing: true });
    const to = t.connect({ key: "10.0.0.4:6881", outgoing: true, extended: true });
    // A peer that asks for ut_pex anyway.
    to.input.push(extensionHandshake());
    clock += PEX_SEND_INTERVAL_MS;
    t.swarm.pex.tick();
    expect(to.socket.sentOf("extended").filter((m) => m.id !== 0)).toEqual([]);
    expect(t.swarm.pex.stats.sent).toBe(0);
  });
});
