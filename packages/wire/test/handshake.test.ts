import { describe, expect, it } from "vitest";
import {
  HANDSHAKE_LENGTH_BYTES,
  HandshakeDecoder,
  PROTOCOL_STRING,
  RESERVED_BITS,
  WireError,
  decodeHandshake,
  encodeHandshake,
} from "@shoal/wire";
import type { Handshake } from "@shoal/wire";
import { thrown } from "./decode-helpers.js";

const infoHash = Buffer.from("0123456789abcdef0123456789abcdef01234567", "hex");
const peerId = Buffer.from("-SH0001-abcdefghijkl", "latin1");
const handshake: Handshake = {
  reserved: RESERVED_BITS.make({ extensionProtocol: true, fast: true, dht: true }),
  infoHash,
  peerId,
};

describe("handshake encoding", () => {
  it("writes pstrlen, pstr, reserved, info hash and peer id in BEP 3 order", () => {
    const bytes = encodeHandshake(handshake);
    expect(bytes.length).toBe(HANDSHAKE_LENGTH_BYTES);
    expect(bytes[0]).toBe(19);
    expect(bytes.subarray(1, 20).toString("latin1")).toBe(PROTOCOL_STRING);
    expect(bytes.subarray(20, 28).toString("hex")).toBe("0000000000100005");
    expect(bytes.subarray(28, 48).equals(infoHash)).toBe(true);
    expect(bytes.subarray(48, 68).equals(peerId)).toBe(true);
  });

  it("round-trips through decodeHandshake, ignoring bytes after the 68th", () => {
    const bytes = Buffer.concat([encodeHandshake(handshake), Buffer.from([0, 0, 0, 0])]);
    const decoded = decodeHandshake(bytes);
    expect(Buffer.from(decoded.reserved).toString("hex")).toBe("0000000000100005");
    expect(Buffer.from(decoded.infoHash).equals(infoHash)).toBe(true);
    expect(Buffer.from(decoded.peerId).equals(peerId)).toBe(true);
  });

  it("returns copies that survive the input buffer being overwritten", () => {
    const bytes = encodeHandshake(handshake);
    const decoded = decodeHandshake(bytes);
    bytes.fill(0);
    expect(Buffer.from(decoded.infoHash).equals(infoHash)).toBe(true);
  });

  it("refuses an info hash or peer id of the wrong size", () => {
    const err = thrown(() => encodeHandshake({ ...handshake, infoHash: new Uint8Array(32) }));
    expect(err).toBeInstanceOf(WireError);
    expect((err as WireError).code).toBe("INVALID_ARGUMENT");
    expect(() => encodeHandshake({ ...handshake, peerId: new Uint8Array(19) })).toThrow(WireError);
    expect(() => encodeHandshake({ ...handshake, reserved: new Uint8Array(7) })).toThrow(WireError);
  });
});

describe("handshake decoding of bad input", () => {
  it("rejects a wrong pstrlen with BAD_PROTOCOL", () => {
    const bytes = encodeHandshake(handshake);
    bytes[0] = 18;
    const err = thrown(() => decodeHandshake(bytes)) as WireError;
    expect(err.code).toBe("BAD_PROTOCOL");
    expect(err.message).toContain("pstrlen 18");
  });

  it("rejects a wrong pstr with BAD_PROTOCOL naming the byte", () => {
    const bytes = encodeHandshake(handshake);
    bytes.write("bittorrent", 1, "latin1");
    const err = thrown(() => decodeHandshake(bytes)) as WireError;
    expect(err.code).toBe("BAD_PROTOCOL");
    expect(err.context).toMatchObject({ position: 1 });
  });

  it("rejects fewer than 68 bytes with BAD_LENGTH", () => {
    const err = thrown(() => decodeHandshake(encodeHandshake(handshake).subarray(0, 67))) as WireError;
    expect(err.code).toBe("BAD_LENGTH");
  });
});

describe("HandshakeDecoder", () => {
  const bytes = encodeHandshake(handshake);
  const follow = Buffer.from([0, 0, 0, 1, 2]);
  const stream = Buffer.concat([bytes, follow]);

  it("returns null until 68 bytes arrived, then the handshake and the rest of the chunk", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new HandshakeDecoder();
      const first = decoder.push(stream.subarray(0, Math.min(cut, HANDSHAKE_LENGTH_BYTES - 1)));
      expect(first).toBeNull();
      const result = decoder.push(stream.subarray(Math.min(cut, HANDSHAKE_LENGTH_BYTES - 1)));
      expect(result).not.toBeNull();
      expect(Buffer.from(result!.handshake.peerId).equals(peerId)).toBe(true);
      expect(result!.rest.equals(follow)).toBe(true);
    }
  });

  it("decodes a handshake pushed byte by byte and hands over an empty rest", () => {
    const decoder = new HandshakeDecoder();
    let result = null;
    for (let i = 0; i < bytes.length; i++) {
      expect(result).toBeNull();
      result = decoder.push(bytes.subarray(i, i + 1));
    }
    expect(result?.rest.length).toBe(0);
    expect(Buffer.from(result!.handshake.infoHash).equals(infoHash)).toBe(true);
  });

  it("fails on the first wrong byte, before the rest of the handshake arrives", () => {
    const decoder = new HandshakeDecoder();
    expect(decoder.push(Buffer.from([19, 0x42]))).toBeNull();
    expect(decoder.bufferedBytes).toBe(2);
    const err = thrown(() => decoder.push(Buffer.from("x", "latin1"))) as WireError;
    expect(err.code).toBe("BAD_PROTOCOL");
    expect(err.context).toMatchObject({ position: 2 });
  });

  it("rejects an encrypted-looking stream on its first byte and stays failed", () => {
    const decoder = new HandshakeDecoder();
    const err = thrown(() => decoder.push(Buffer.from([0xc3, 0x11]))) as WireError;
    expect(err.code).toBe("BAD_PROTOCOL");
    expect(thrown(() => decoder.push(bytes))).toBe(err);
  });

  it("accepts any reserved, info hash and peer id bytes", () => {
    const decoder = new HandshakeDecoder();
    const odd = Buffer.from(bytes);
    odd.fill(0xff, 20);
    const result = decoder.push(odd);
    expect(Buffer.from(result!.handshake.peerId).every((b) => b === 0xff)).toBe(true);
  });

  it("throws INVALID_STATE when pushed to after the handshake completed", () => {
    const decoder = new HandshakeDecoder();
    decoder.push(bytes);
    expect((thrown(() => decoder.push(follow)) as WireError).code).toBe("INVALID_STATE");
  });
});

describe("RESERVED_BITS", () => {
  it("reads each bit at the position its BEP names", () => {
    const ext = Buffer.from("0000000000100000", "hex");
    const fast = Buffer.from("0000000000000004", "hex");
    const dht = Buffer.from("0000000000000001", "hex");
    expect([RESERVED_BITS.extensionProtocol(ext), RESERVED_BITS.fast(ext), RESERVED_BITS.dht(ext)]).toEqual([
      true,
      false,
      false,
    ]);
    expect([RESERVED_BITS.extensionProtocol(fast), RESERVED_BITS.fast(fast), RESERVED_BITS.dht(fast)]).toEqual([
      false,
      true,
      false,
    ]);
    expect([RESERVED_BITS.extensionProtocol(dht), RESERVED_BITS.fast(dht), RESERVED_BITS.dht(dht)]).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("makes reserved bytes with only the chosen bits", () => {
    expect(Buffer.from(RESERVED_BITS.make({})).toString("hex")).toBe("0000000000000000");
    expect(Buffer.from(RESERVED_BITS.make({ fast: true })).toString("hex")).toBe("0000000000000004");
    const all = RESERVED_BITS.make({ extensionProtocol: true, fast: true, dht: true });
    expect(RESERVED_BITS.extensionProtocol(all) && RESERVED_BITS.fast(all) && RESERVED_BITS.dht(all)).toBe(true);
  });

  it("ignores unrelated bits set by other clients", () => {
    const reserved = Buffer.from("ffffffffffeffffa", "hex");
    expect(RESERVED_BITS.extensionProtocol(reserved)).toBe(false);
    expect(RESERVED_BITS.fast(reserved)).toBe(false);
    expect(RESERVED_BITS.dht(reserved)).toBe(false);
  });

  it("refuses a reserved field that is not 8 bytes", () => {
    expect(() => RESERVED_BITS.fast(new Uint8Array(7))).toThrow(WireError);
  });
});
