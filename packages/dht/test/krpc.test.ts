import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@shoal/bencode";
import {
  DhtError,
  MAX_KRPC_BYTES,
  MAX_VALUES_PER_RESPONSE,
  decodeCompactNodes,
  decodeKrpc,
  encodeCompactNodes,
  encodeError,
  encodeQuery,
  encodeResponse,
  parseBootstrapList,
  parseDhtState,
  formatDhtState,
  tryDecodeKrpc,
} from "@shoal/dht";
import { DecodeError } from "@shoal/bencode";

const id = (b: number) => new Uint8Array(20).fill(b);
const t = Uint8Array.of(1, 2);

describe("KRPC codec", () => {
  it("round-trips the four queries", () => {
    const ping = decodeKrpc(encodeQuery(t, id(1), { method: "ping" }));
    expect(ping).toMatchObject({ kind: "query", method: "ping", id: id(1), t });
    expect(decodeKrpc(encodeQuery(t, id(1), { method: "find_node", target: id(2) }))).toMatchObject({ method: "find_node", target: id(2) });
    expect(decodeKrpc(encodeQuery(t, id(1), { method: "get_peers", infoHash: id(3) }))).toMatchObject({ method: "get_peers", infoHash: id(3) });
    const ann = decodeKrpc(encodeQuery(t, id(1), { method: "announce_peer", infoHash: id(3), port: 6881, impliedPort: false, token: Uint8Array.of(9, 9) }));
    expect(ann).toMatchObject({ method: "announce_peer", port: 6881, impliedPort: false, token: Uint8Array.of(9, 9) });
    const implied = decodeKrpc(encodeQuery(t, id(1), { method: "announce_peer", infoHash: id(3), port: 1, impliedPort: true, token: Uint8Array.of(9) }));
    expect(implied).toMatchObject({ impliedPort: true });
  });

  it("round-trips responses with compact nodes and peers, and errors", () => {
    const nodes = [{ id: id(4), ip: "127.0.0.1", port: 7000 }, { id: id(5), ip: "10.1.2.3", port: 65535 }];
    const r = decodeKrpc(encodeResponse(t, id(1), { nodes, values: [{ ip: "1.2.3.4", port: 80 }], token: Uint8Array.of(7) }));
    expect(r).toEqual({ kind: "response", t, id: id(1), nodes, values: [{ ip: "1.2.3.4", port: 80 }], token: Uint8Array.of(7) });
    expect(decodeKrpc(encodeError(t, 203, "bad token"))).toEqual({ kind: "error", t, code: 203, message: "bad token" });
  });

  it("reads libtorrent-style messages with extra keys (v, ip, ro) and unknown methods", () => {
    const raw = encode({ t: "aa", y: "q", q: "sample_infohashes", a: { id: id(1), target: id(2) }, v: "LT\x01\x02", ro: 1 });
    expect(decodeKrpc(raw)).toMatchObject({ method: "unknown", name: "sample_infohashes", readOnly: true });
  });

  const hostile: [string, Uint8Array][] = [
    ["truncated", encodeQuery(t, id(1), { method: "ping" }).subarray(0, 20)],
    ["not a dict", encode(["t", "y"])],
    ["no transaction id", encode({ y: "q", q: "ping", a: { id: id(1) } })],
    ["transaction id is an integer", encode({ t: 5, y: "q", q: "ping", a: { id: id(1) } })],
    ["id too short", encode({ t: "aa", y: "q", q: "ping", a: { id: "short" } })],
    ["arguments a list", encode({ t: "aa", y: "q", q: "ping", a: [1, 2] })],
    ["announce port out of range", encode({ t: "aa", y: "q", q: "announce_peer", a: { id: id(1), info_hash: id(2), port: 70000, token: "x" } })],
    ["nodes is a list", encode({ t: "aa", y: "r", r: { id: id(1), nodes: [1, 2] } })],
    ["values is a string", encode({ t: "aa", y: "r", r: { id: id(1), values: "abcdef" } })],
    ["error without message", encode({ t: "aa", y: "e", e: [201] })],
    ["unknown type", encode({ t: "aa", y: "z" })],
    ["deep nesting", new TextEncoder().encode(`d1:t2:aa1:y1:q1:q4:ping1:ad2:id20:${"x".repeat(20)}1:x${"l".repeat(50)}${"e".repeat(50)}ee`)],
    ["oversized datagram", encode({ t: "aa", y: "r", r: { id: id(1), nodes: new Uint8Array(MAX_KRPC_BYTES) } })],
  ];
  for (const [what, bytes] of hostile) {
    it(`refuses a message with ${what}`, () => {
      expect(() => decodeKrpc(bytes)).toThrow();
      try {
        decodeKrpc(bytes);
      } catch (err) {
        expect(err instanceof DhtError || err instanceof DecodeError).toBe(true);
      }
      expect(tryDecodeKrpc(bytes)).toBeUndefined();
    });
  }

  it("reads at most MAX_VALUES_PER_RESPONSE peers and skips malformed entries", () => {
    const values = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? Uint8Array.of(1, 2, 3) : Uint8Array.of(10, 0, (i >> 8) & 255, i & 255, 0, 80)));
    const r = decodeKrpc(encode({ t: "aa", y: "r", r: { id: id(1), values } }));
    expect(r.kind === "response" && r.values.length).toBe(MAX_VALUES_PER_RESPONSE);
  });

  it("property: any bytes decode to a message or are refused with a DhtError or DecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          decodeKrpc(bytes);
        } catch (err) {
          if (!(err instanceof DhtError || err instanceof DecodeError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("property: mutated valid messages never throw anything else", () => {
    const base = encodeResponse(t, id(1), { nodes: [{ id: id(4), ip: "127.0.0.1", port: 7000 }], values: [{ ip: "1.2.3.4", port: 80 }], token: Uint8Array.of(7) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (edits) => {
        const b = Uint8Array.from(base);
        for (const [at, v] of edits) b[at] = v;
        expect(() => tryDecodeKrpc(b)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it("property: compact nodes round-trip", () => {
    const node = fc.record({
      id: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      ip: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join(".")),
      port: fc.integer({ min: 1, max: 65535 }),
    });
    fc.assert(fc.property(fc.array(node, { maxLength: 16 }), (nodes) => {
        expect(decodeCompactNodes(encodeCompactNodes(nodes), 100)).toEqual(nodes);
      }),
    );
  });
});

describe("bootstrap list and state file", () => {
  it("parses host:port lists and names a bad entry", () => {
    expect(parseBootstrapList("127.0.0.1:6881, router.example:25401,[::1]:7")).toEqual([
      { host: "127.0.0.1", port: 6881 },
      { host: "router.example", port: 25401 },
      { host: "::1", port: 7 },
    ]);
    expect(() => parseBootstrapList("127.0.0.1")).toThrow(/"127.0.0.1" is not host:port/);
    expect(() => parseBootstrapList("a:0")).toThrow(/port from 1 to 65535/);
    expect(() => parseBootstrapList("a:1,,b:2")).toThrow(/empty entry/);
  });

  it("round-trips the state and skips bad node entries", () => {
    const text = formatDhtState({ id: id(9), nodes: [{ id: id(1), ip: "127.0.0.1", port: 5 }] });
    expect(parseDhtState(text)).toEqual({ id: id(9), nodes: [{ id: id(1), ip: "127.0.0.1", port: 5 }] });
    const raw = JSON.parse(text) as { nodes: unknown[] };
    raw.nodes.push({ id: "zz", ip: "x", port: -1 }, null, 5);
    expect(parseDhtState(JSON.stringify(raw)).nodes).toHaveLength(1);
    expect(() => parseDhtState("{")).toThrow(DhtError);
    expect(() => parseDhtState('{"id":"abc"}')).toThrow(/node id/);
  });
});
