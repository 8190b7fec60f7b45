import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import {
  decodeExtensionHandshake,
  decodeMetadataMessage,
  decodePexMessage,
  encodeExtensionHandshake,
  encodeMetadataMessage,
  encodePexMessage,
  MetadataAssembler,
  METADATA_PIECE_BYTES,
  PEX_FLAGS,
  WireError,
} from "../src/index.js";

function refusedWith(fn: () => unknown): WireError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WireError) return err;
    throw err;
  }
  throw new Error("expected a WireError");
}

describe("BEP 9 ut_metadata messages", () => {
  it("round-trips request, reject and data (the bytes follow the dict)", () => {
    expect(decodeMetadataMessage(encodeMetadataMessage({ type: "request", piece: 3 }))).toEqual({ type: "request", piece: 3 });
    expect(decodeMetadataMessage(encodeMetadataMessage({ type: "reject", piece: 0 }))).toEqual({ type: "reject", piece: 0 });
    const data = randomBytes(1000);
    const total = METADATA_PIECE_BYTES * 2 + 1000;
    const m = decodeMetadataMessage(encodeMetadataMessage({ type: "data", piece: 2, totalSize: total, data }));
    expect(m).toMatchObject({ type: "data", piece: 2, totalSize: total });
    expect(Buffer.from((m as { data: Uint8Array }).data).equals(data)).toBe(true);
    // The wire form is exactly the BEP's example dict.
    expect(encodeMetadataMessage({ type: "request", piece: 0 }).toString()).toBe("d8:msg_typei0e5:piecei0ee");
  });

  it("refuses an oversized total_size, a wrong piece length, a piece past the end and garbage", () => {
    const big = Buffer.concat([Buffer.from(encode({ msg_type: 1, piece: 0, total_size: 31 * 1024 * 1024 })), Buffer.alloc(METADATA_PIECE_BYTES)]);
    expect(refusedWith(() => decodeMetadataMessage(big)).message).toBe("ut_metadata: total_size 32505856 is over the limit of 31457280 bytes");
    const short = Buffer.concat([Buffer.from(encode({ msg_type: 1, piece: 0, total_size: 40_000 })), Buffer.alloc(100)]);
    expect(refusedWith(() => decodeMetadataMessage(short)).message).toBe("ut_metadata: piece 0 has 100 bytes, expected 16384");
    const past = Buffer.concat([Buffer.from(encode({ msg_type: 1, piece: 5, total_size: 40_000 })), Buffer.alloc(100)]);
    expect(refusedWith(() => decodeMetadataMessage(past)).message).toBe("ut_metadata: piece 5 is past total_size 40000");
    expect(refusedWith(() => decodeMetadataMessage(Buffer.from(encode({ msg_type: 7, piece: 0 })))).message).toMatch(/msg_type 7 is not 0, 1 or 2/);
    expect(refusedWith(() => decodeMetadataMessage(Buffer.from("i5e"))).code).toBe("BAD_EXTENSION_MESSAGE");
    expect(refusedWith(() => decodeMetadataMessage(Buffer.from(encode({ msg_type: 0, piece: 9_999_999 })))).message).toMatch(/past the largest metadata/);
  });

  it("property: any payload decodes or is refused with a WireError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withDict) => {
        const payload = withDict ? Buffer.concat([Buffer.from(encode({ msg_type: bytes[0] ?? 0, piece: bytes[1] ?? 0, total_size: (bytes[2] ?? 0) * 100 })), bytes]) : bytes;
        try {
          decodeMetadataMessage(payload);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("BEP 9 metadata assembly", () => {
  const info = randomBytes(METADATA_PIECE_BYTES * 2 + 777);
  const hash = createHash("sha1").update(info).digest();
  const piece = (i: number) => info.subarray(i * METADATA_PIECE_BYTES, Math.min(info.length, (i + 1) * METADATA_PIECE_BYTES));

  it("completes from pieces of several peers in any order, and only when the SHA-1 matches", () => {
    const a = new MetadataAssembler(hash, info.length);
    expect(a.pieceCount).toBe(3);
    expect(a.nextWanted()).toBe(0);
    expect(a.nextWanted(new Set([0]))).toBe(1);
    expect(a.add(2, piece(2), "p1")).toEqual({ status: "more" });
    expect(a.add(2, piece(2), "p1")).toEqual({ status: "ignored" });
    expect(a.add(0, piece(0), "p2")).toEqual({ status: "more" });
    const done = a.add(1, piece(1), "p3");
    expect(done.status).toBe("complete");
    expect(Buffer.from((done as { metadata: Uint8Array }).metadata).equals(info)).toBe(true);
  });

  it("drops everything on a mismatch and names who sent pieces", () => {
    const a = new MetadataAssembler(hash, info.length);
    a.add(0, piece(0), "honest");
    a.add(1, Buffer.alloc(METADATA_PIECE_BYTES, 7), "liar");
    const r = a.add(2, piece(2), "honest");
    expect(r).toEqual({ status: "mismatch", sources: ["honest", "liar"] });
    expect(a.piecesHeld).toBe(0);
    expect(a.nextWanted()).toBe(0);
  });
});

describe("BEP 10 extension handshake", () => {
  it("round-trips the extension ids, metadata_size and the rest, ignoring what is malformed", () => {
    const payload = encodeExtensionHandshake({ extensions: { ut_metadata: 3, ut_pex: 1 }, metadataSize: 12_345, listenPort: 6881, requestQueue: 250, client: "shoal" });
    const h = decodeExtensionHandshake(payload);
    expect([...h.extensions]).toEqual([
      ["ut_metadata", 3],
      ["ut_pex", 1],
    ]);
    expect(h).toMatchObject({ metadataSize: 12_345, listenPort: 6881, requestQueue: 250, client: "shoal" });
    const odd = decodeExtensionHandshake(Buffer.from(encode({ m: { ut_metadata: 0, ut_pex: 300, x: 2 }, metadata_size: -1 })));
    expect([...odd.extensions]).toEqual([["x", 2]]);
    expect(odd.metadataSize).toBeUndefined();
    expect(decodeExtensionHandshake(Buffer.from("not bencode")).extensions.size).toBe(0);
  });
});

describe("BEP 11 ut_pex", () => {
  it("round-trips IPv4 and IPv6 peers with their flags, and dropped ones", () => {
    const msg = {
      added: [
        { ip: "10.0.0.1", port: 6881, flags: PEX_FLAGS.seed | PEX_FLAGS.outgoing },
        { ip: "2001:db8::5", port: 51413, flags: PEX_FLAGS.encryption },
      ],
      dropped: [
        { ip: "192.168.1.9", port: 1 },
        { ip: "::1", port: 65535 },
      ],
    };
    expect(decodePexMessage(encodePexMessage(msg))).toEqual(msg);
  });

  it("refuses a wrong compact length and too many peers; skips port 0", () => {
    expect(refusedWith(() => decodePexMessage(Buffer.from(encode({ added: Buffer.alloc(7) })))).message).toBe("ut_pex: added has 7 bytes, not a multiple of 6");
    expect(refusedWith(() => decodePexMessage(Buffer.from(encode({ added: Buffer.alloc(6 * 201, 1) })))).message).toBe("ut_pex: 201 peers in one message, over the limit of 200");
    const zeroPort = Buffer.from([1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0x1a, 0xe1]);
    expect(decodePexMessage(Buffer.from(encode({ added: zeroPort, "added.f": Buffer.from([1, 2]) }))).added).toEqual([{ ip: "5.6.7.8", port: 6881, flags: 2 }]);
  });

  it("property: random peer lists round-trip, and random payloads decode or are refused with a WireError", () => {
    const v4 = fc.record({ ip: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }), flags: fc.nat(255) });
    const v6 = fc.record({ ip: fc.ipV6().map((ip) => new URL(`http://[${ip}]/`).hostname.slice(1, -1)), port: fc.integer({ min: 1, max: 65535 }), flags: fc.nat(255) });
    fc.assert(
      fc.property(fc.array(v4, { maxLength: 30 }), fc.array(v6, { maxLength: 30 }), (a4, a6) => {
        const ip4 = a4.map((p) => ({ ...p, ip: p.ip.split(".").map(Number).join(".") }));
        const msg = { added: [...ip4, ...a6], dropped: ip4.map(({ ip, port }) => ({ ip, port })) };
        expect(decodePexMessage(encodePexMessage(msg))).toEqual(msg);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodePexMessage(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
