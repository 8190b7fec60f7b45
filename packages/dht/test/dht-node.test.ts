import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@shoal/bencode";
import { DhtNode, decodeKrpc, encodeQuery, type PeerEndpoint } from "@shoal/dht";
import { seededBytes } from "@shoal/testkit";

/** Nodes wired to each other in memory: a datagram is delivered on the next microtask. */
function network(size: number, now: () => number, random: (n: number) => Uint8Array = (n) => randomBytes(n)) {
  const nodes = new Map<string, DhtNode>();
  const addrOf = (i: number): PeerEndpoint => ({ ip: `10.0.${i >> 8}.${(i & 255) + 1}`, port: 6881 });
  const list: DhtNode[] = [];
  for (let i = 0; i < size; i++) {
    const self = addrOf(i);
    const node = new DhtNode({
      now,
      random,
      send: (bytes, to) => {
        const peer = nodes.get(`${to.ip}:${to.port}`);
        if (peer) queueMicrotask(() => peer.receive(bytes, self));
      },
    });
    node.setBootstrap([addrOf(0)]);
    nodes.set(`${self.ip}:${self.port}`, node);
    list.push(node);
  }
  return { list, addrOf };
}

describe("DhtNode", () => {
  it("in a network of 40 nodes, a peer announced by one is found by another", async () => {
    // Ids from a seeded generator, so the lookups take the same paths in every run: with ids from
    // the system's random source, one network in about three hundred had the finder's lookup stop
    // at eight close nodes none of which had heard the announce (each node joined through one
    // bootstrap node, which keeps eight per bucket), and the test failed on a draw of the dice.
    const random = seededBytes(0x5eed);
    const { list } = network(40, () => performance.now(), random);
    for (const n of list.slice(1)) await n.join();
    const infoHash = random(20);
    const announcer = list[7]!;
    const responders = await announcer.getPeers(infoHash, () => undefined);
    expect(responders.length).toBeGreaterThan(3);
    expect(await announcer.announce(infoHash, responders, 51413, false)).toBeGreaterThan(3);
    const found: PeerEndpoint[] = [];
    await list[31]!.getPeers(infoHash, (peers) => found.push(...peers));
    expect(found).toContainEqual({ ip: "10.0.0.8", port: 51413 });
    expect(list[31]!.stats().lookups).toBe(1);
    for (const n of list) n.close();
  });

  it("answers ping, find_node and get_peers, and refuses announce_peer with a bad token", () => {
    const sent: Uint8Array[] = [];
    const node = new DhtNode({ now: () => 0, random: (n) => randomBytes(n), send: (b) => sent.push(b) });
    const from = { ip: "10.9.9.9", port: 4000 };
    const asker = randomBytes(20);
    node.receive(encodeQuery(Uint8Array.of(1), asker, { method: "ping" }), from);
    node.receive(encodeQuery(Uint8Array.of(2), asker, { method: "find_node", target: randomBytes(20) }), from);
    node.receive(encodeQuery(Uint8Array.of(3), asker, { method: "get_peers", infoHash: randomBytes(20) }), from);
    node.receive(encodeQuery(Uint8Array.of(4), asker, { method: "announce_peer", infoHash: randomBytes(20), port: 1, impliedPort: false, token: Uint8Array.of(1) }), from);
    const replies = sent.map((b) => decodeKrpc(b));
    expect(replies.map((r) => r.kind)).toEqual(["response", "response", "response", "error"]);
    const gp = replies[2]!;
    expect(gp.kind === "response" && gp.token?.length).toBe(8);
  });

  it("stores an announce made with a good token and serves it (implied_port uses the source port)", () => {
    const sent: Uint8Array[] = [];
    const node = new DhtNode({ now: () => 0, random: (n) => randomBytes(n), send: (b) => sent.push(b) });
    const from = { ip: "10.9.9.9", port: 4000 };
    const ih = randomBytes(20);
    node.receive(encodeQuery(Uint8Array.of(1), randomBytes(20), { method: "get_peers", infoHash: ih }), from);
    const r = decodeKrpc(sent.pop()!);
    const token = r.kind === "response" ? r.token! : new Uint8Array();
    node.receive(encodeQuery(Uint8Array.of(2), randomBytes(20), { method: "announce_peer", infoHash: ih, port: 1, impliedPort: true, token }), from);
    expect(decodeKrpc(sent.pop()!).kind).toBe("response");
    node.receive(encodeQuery(Uint8Array.of(3), randomBytes(20), { method: "get_peers", infoHash: ih }), { ip: "10.8.8.8", port: 1 });
    const served = decodeKrpc(sent.pop()!);
    expect(served.kind === "response" && served.values).toEqual([{ ip: "10.9.9.9", port: 4000 }]);
  });

  it("drops hostile datagrams, unsolicited responses and floods, and keeps answering others", () => {
    const sent: { to: PeerEndpoint; b: Uint8Array }[] = [];
    const node = new DhtNode({ now: () => 0, random: (n) => randomBytes(n), send: (b, to) => sent.push({ to, b }) });
    const evil = { ip: "10.6.6.6", port: 666 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        node.receive(bytes, evil);
      }),
      { numRuns: 500 },
    );
    // A response to a transaction we never opened, and one with a huge values list.
    node.receive(encode({ t: "zz", y: "r", r: { id: randomBytes(20) } }), evil);
    node.receive(encode({ t: Uint8Array.of(0, 1), y: "r", r: { id: randomBytes(20), values: Array.from({ length: 500 }, () => randomBytes(6)) } }), evil);
    // A flood of pings from one address: only its burst is answered.
    const before = sent.length;
    for (let i = 0; i < 1000; i++) node.receive(encodeQuery(Uint8Array.of(1), randomBytes(20), { method: "ping" }), evil);
    expect(sent.length - before).toBeLessThanOrEqual(40);
    expect(node.stats().dropped).toBeGreaterThan(900);
    // Another node is still answered.
    const good = { ip: "10.1.1.1", port: 1 };
    node.receive(encodeQuery(Uint8Array.of(9), randomBytes(20), { method: "ping" }), good);
    expect(sent.at(-1)?.to).toEqual(good);
    expect(decodeKrpc(sent.at(-1)!.b).kind).toBe("response");
  });

  it("a response from an address other than the one asked is dropped; a silent node times out", async () => {
    let now = 0;
    const sent: { to: PeerEndpoint; b: Uint8Array }[] = [];
    const node = new DhtNode({ now: () => now, random: (n) => randomBytes(n), send: (b, to) => sent.push({ to, b }) });
    const asked = node.query({ ip: "10.0.0.1", port: 1 }, { method: "ping" });
    const q = decodeKrpc(sent[0]!.b);
    node.receive(encode({ t: q.t, y: "r", r: { id: randomBytes(20) } }), { ip: "10.0.0.2", port: 1 });
    expect(node.stats().dropped).toBe(1);
    now = 10_000;
    node.tick();
    await expect(asked).rejects.toThrow(/did not answer/);
  });

  it("a saved node that does not answer is not asked again nor saved again", async () => {
    let now = 0;
    const sent: PeerEndpoint[] = [];
    const saved = { id: randomBytes(20), ip: "10.0.0.9", port: 9 };
    const node = new DhtNode({ now: () => now, random: (n) => randomBytes(n), send: (_b, to) => sent.push(to), nodes: [saved] });
    const first = node.findNode(randomBytes(20));
    expect(sent).toEqual([{ ip: "10.0.0.9", port: 9 }]);
    now = 10_000;
    node.tick();
    expect(await first).toEqual([]);
    expect(node.state().nodes).toEqual([]);
    await node.findNode(randomBytes(20));
    expect(sent).toHaveLength(1);
  });
});
