import fc from "fast-check";
import { DecodeError, encode } from "@shoal/bencode";
import { DhtError, MAX_NODES_PER_RESPONSE, MAX_VALUES_PER_RESPONSE, decodeKrpc, encodeCompactNodes, encodeQuery, encodeResponse } from "@shoal/dht";
import { sample } from "../arbitraries.js";
import { ascii, check, outcome, type FuzzTarget } from "../target.js";

/** What decodeKrpc may throw: a malformed message, or bencode it refuses. */
function documented(err: unknown): string | undefined {
  if (err instanceof DhtError && err.code === "BAD_MESSAGE") return "BAD_MESSAGE";
  if (err instanceof DecodeError) return `decode:${err.code}`;
  return undefined;
}

const id = fc.uint8Array({ minLength: 20, maxLength: 20 });
const bytes = fc.uint8Array({ maxLength: 40 });

/** KRPC-shaped dicts: the right keys with values of the right and the wrong types and lengths. */
const message: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom("q", "r", "e", "x"),
    fc.constantFrom("ping", "find_node", "get_peers", "announce_peer", "vote"),
    fc.oneof(id, bytes),
    fc.oneof(id, bytes),
    fc.oneof(fc.integer({ min: -5, max: 70_000 }), bytes),
    fc.array(fc.oneof(fc.uint8Array({ minLength: 6, maxLength: 6 }), bytes), { maxLength: 12 }),
    bytes,
  )
  .map(([y, q, a, b, port, values, tail]) =>
    encode({
      t: tail.subarray(0, 4),
      y,
      q,
      a: { id: a, target: b, info_hash: b, port, token: tail },
      r: { id: a, nodes: tail.length % 2 === 0 ? encodeCompactNodes([{ id: b.length === 20 ? b : new Uint8Array(20), ip: "10.0.0.1", port: 1 }]) : tail, values, token: tail },
      e: [port, tail],
    }),
  );

/**
 * decodeKrpc (BEP 5) on one datagram: a message, or DhtError BAD_MESSAGE / DecodeError; ids of
 * 20 bytes, ports in range, lists within their caps.
 */
export const dhtKrpcTarget: FuzzTarget = {
  name: "dht-krpc",
  description: "dht's decodeKrpc: queries, responses and errors within their documented bounds",
  bencode: true,
  maxInputBytes: 4096,
  dictionary: ["1:t", "1:y", "1:q", "1:r", "1:e", "1:a", "2:id", "6:target", "9:info_hash", "4:port", "5:token", "5:nodes", "6:values", "12:implied_port", "2:ro"].map(ascii),
  seeds: () => [
    encodeQuery(Uint8Array.of(1, 2), new Uint8Array(20).fill(1), { method: "get_peers", infoHash: new Uint8Array(20).fill(2) }),
    encodeQuery(Uint8Array.of(1, 2), new Uint8Array(20).fill(1), { method: "announce_peer", infoHash: new Uint8Array(20).fill(2), port: 6881, impliedPort: true, token: Uint8Array.of(9) }),
    encodeResponse(Uint8Array.of(1), new Uint8Array(20).fill(3), { nodes: [{ id: new Uint8Array(20).fill(4), ip: "127.0.0.1", port: 6881 }], values: [{ ip: "1.2.3.4", port: 80 }], token: Uint8Array.of(5) }),
  ],
  generate: (seed, count) => sample(message, seed, count),
  run(input) {
    return outcome(() => {
      const m = decodeKrpc(input);
      check(m.t.length >= 1 && m.t.length <= 16, `transaction id of ${m.t.length} bytes`);
      if (m.kind === "error") return "error";
      check(m.id.length === 20, `id of ${m.id.length} bytes`);
      if (m.kind === "response") {
        check(m.nodes.length <= MAX_NODES_PER_RESPONSE && m.values.length <= MAX_VALUES_PER_RESPONSE, "too many nodes or values");
        for (const p of [...m.nodes, ...m.values]) check(p.port >= 1 && p.port <= 65535, `port ${p.port}`);
        return "response";
      }
      if (m.method === "announce_peer") check(m.impliedPort || (m.port >= 1 && m.port <= 65535), `announce port ${m.port}`);
      return `query:${m.method}`;
    }, documented);
  },
};
