import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { CoordinationError } from "@shoal/coordination";
import { decodePayload, encodePayload } from "../src/index.js";

const text = new TextDecoder();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A deterministic, non-repeating-looking byte pattern, so a shifted or truncated copy shows. */
function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 0x12345678;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function expectMalformed(body: Uint8Array): void {
  let caught: unknown;
  try {
    decodePayload(body);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CoordinationError);
  expect((caught as CoordinationError).code).toBe("INVARIANT_BROKEN");
}

describe("bus payload codec", () => {
  it("encodes a payload without bytes as plain JSON", () => {
    const payload = { infoHash: "ab".repeat(20), piece: 3, attempt: 2, workerId: "w1", peers: ["10.0.0.1:6881"] };
    const body = encodePayload(payload);
    expect(text.decode(body)).toBe(JSON.stringify(payload));
    expect(decodePayload(body)).toEqual(payload);
  });

  it("carries a 4 MiB byte field raw after the JSON, not as base64, and decodes it intact", () => {
    const piece = pattern(4 * 1024 * 1024);
    const payload = { infoHash: "cd".repeat(20), piece: 7, attempt: 1, bytes: piece };
    const body = encodePayload(payload);
    const json = JSON.stringify({ ...payload, bytes: { $bin: [0, piece.byteLength] } });
    expect(body.byteLength).toBe(bytes(json).byteLength + 1 + piece.byteLength);
    expect(text.decode(body.subarray(0, body.indexOf(0x0a)))).toBe(json);
    const back = decodePayload(body) as typeof payload;
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back.bytes).equals(Buffer.from(piece))).toBe(true);
    expect({ ...back, bytes: undefined }).toEqual({ ...payload, bytes: undefined });
  });

  it("keeps a Buffer binary and places several byte fields, nested and empty ones too", () => {
    const payload = {
      first: Buffer.from([1, 2, 3]),
      nested: { list: [new Uint8Array([9]), new Uint8Array(0), "x"] },
      last: new Uint8Array([0x0a, 0x0a]),
    };
    const back = decodePayload(encodePayload(payload)) as {
      first: Uint8Array;
      nested: { list: [Uint8Array, Uint8Array, string] };
      last: Uint8Array;
    };
    expect([...back.first]).toEqual([1, 2, 3]);
    expect([...back.nested.list[0]]).toEqual([9]);
    expect(back.nested.list[1]).toBeInstanceOf(Uint8Array);
    expect(back.nested.list[1].byteLength).toBe(0);
    expect(back.nested.list[2]).toBe("x");
    expect([...back.last]).toEqual([0x0a, 0x0a]);
  });

  it("never calls a Buffer's toJSON, which would build an array of one number per byte", () => {
    const toJSON = vi.spyOn(Buffer.prototype, "toJSON");
    try {
      const piece = Buffer.from(pattern(64 * 1024));
      const payload = { piece: 1, data: piece, nested: [{ more: Buffer.from([7]) }] };
      const back = decodePayload(encodePayload(payload)) as { data: Uint8Array; nested: [{ more: Uint8Array }] };
      expect(Buffer.from(back.data).equals(piece)).toBe(true);
      expect([...back.nested[0].more]).toEqual([7]);
      expect(decodePayload(encodePayload(piece))).toEqual(new Uint8Array(piece));
      expect(toJSON).not.toHaveBeenCalled();
    } finally {
      toJSON.mockRestore();
    }
  });

  it("refuses a payload that uses the reserved reference key itself", () => {
    expect(() => encodePayload({ a: { $bin: [0, 1] } })).toThrow(CoordinationError);
  });

  it("rejects bodies that are not bus messages", () => {
    expectMalformed(bytes("{not json"));
    expectMalformed(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]));
    expectMalformed(bytes('{"a":{"$bin":[0,4]}}\nabc'));
    expectMalformed(bytes('{"a":{"$bin":[0,2]}}\nabc'));
    expectMalformed(bytes('{"a":{"$bin":[0,1],"b":1}}\na'));
    expectMalformed(bytes('{"a":{"$bin":[-1,1]}}\na'));
    expectMalformed(bytes('{"a":1}\nstray'));
  });

  it("round-trips any JSON value with byte fields anywhere (property)", () => {
    const key = fc.string({ maxLength: 6 }).filter((k) => k !== "$bin" && k !== "__proto__");
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        // JSON has no -0: a value generated with one is the value JSON carries, +0.
        fc
          .jsonValue({ maxDepth: 1 })
          .filter((v) => !JSON.stringify(v).includes('"$bin"'))
          .map((v) => JSON.parse(JSON.stringify(v)) as unknown),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(key, tie("value"), { maxKeys: 4 }),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        expect(decodePayload(encodePayload(v))).toEqual(v);
      }),
    );
  });

  it("decodes arbitrary bytes to a value or a CoordinationError, nothing else (property)", () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.uint8Array({ maxLength: 16 })).map(([v, tail]) => {
        const head = bytes(JSON.stringify(v) ?? "null");
        return Buffer.concat([head, Buffer.from([0x0a]), tail]);
      }),
    );
    fc.assert(
      fc.property(body, (b) => {
        try {
          decodePayload(b);
        } catch (err) {
          expect(err).toBeInstanceOf(CoordinationError);
        }
      }),
    );
  });
});
