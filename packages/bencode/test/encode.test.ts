import { describe, expect, it } from "vitest";
import { decode, encode } from "../src/index.js";
import type { BValue, Encodable } from "../src/index.js";
import { ascii, expectDecodeError, latin1, sameBytes } from "./helpers.js";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe("encode", () => {
  it("writes integers, strings, lists and dicts canonically", () => {
    expect(text(encode(0))).toBe("i0e");
    expect(text(encode(-0))).toBe("i0e");
    expect(text(encode(-42))).toBe("i-42e");
    expect(text(encode(2n ** 64n))).toBe("i18446744073709551616e");
    expect(text(encode("spam"))).toBe("4:spam");
    expect(text(encode([1, "a", []]))).toBe("li1e1:alee");
    expect(text(encode({ foo: 42, bar: "spam" }))).toBe("d3:bar4:spam3:fooi42ee");
  });

  it("writes JS strings as UTF-8", () => {
    expect(encode("é")).toEqual(ascii("2:é"));
    expect(encode({ "name.utf-8": "日本" })).toEqual(ascii("d10:name.utf-86:日本e"));
  });

  it("sorts dict keys by raw bytes, not by UTF-16 order", () => {
    // U+FF61 (UTF-8 EF BD A1) sorts before U+1F600 (F0 9F 98 80) by bytes, but after it by UTF-16 units.
    const out = encode({ "\u{1F600}": 1, "\uFF61": 2 });
    expect(out).toEqual(ascii("d3:\uFF61i2e4:\u{1F600}i1ee"));
    expect(() => decode(out)).not.toThrow();
  });

  it("treats Map keys as latin1 raw bytes", () => {
    expect(encode(new Map([["\xff", 1], ["a", 2]]))).toEqual(latin1("d1:ai2e1:\xffi1ee"));
  });

  it("skips undefined properties of plain objects", () => {
    expect(text(encode({ a: 1, b: undefined }))).toBe("d1:ai1ee");
  });

  it("writes a Uint8Array view's own bytes only", () => {
    const backing = ascii("xxspamxx");
    expect(text(encode(backing.subarray(2, 6)))).toBe("4:spam");
  });

  const bad: Array<[string, unknown]> = [
    ["a fraction", 1.5],
    ["NaN", Number.NaN],
    ["an unsafe number", 2 ** 60],
    ["null", null],
    ["a boolean", true],
    ["a Date", new Date(0)],
    ["a Map key above U+00FF", new Map([["\u0100", 1]])],
    ["a non-string Map key", new Map([[1, 1]])],
    ["object keys that collide in UTF-8", { "\uD800": 1, "\uDC00": 2 }],
  ];
  for (const [name, value] of bad) {
    it(`refuses ${name} with UNENCODABLE`, () => {
      expectDecodeError(() => encode(value as Encodable), "UNENCODABLE");
    });
  }

  it("names the path of the value it cannot encode", () => {
    const err = expectDecodeError(() => encode({ info: { files: [{ length: 0.5 }] } }), "UNENCODABLE");
    expect(err.message).toBe("bencode: cannot encode value.info.files[0].length: 0.5 is not a safe integer (use a bigint)");
  });

  it("refuses a cyclic value instead of overflowing the stack", () => {
    const cyclic: BValue[] = [];
    cyclic.push(cyclic);
    expectDecodeError(() => encode(cyclic), "UNENCODABLE");
  });

  it("encodes a large string in one piece", () => {
    const big = new Uint8Array(3_000_000).fill(1);
    const out = encode([big]);
    expect(out.length).toBe("l3000000:".length + big.length + "e".length);
    expect(sameBytes((decode(out) as Uint8Array[])[0]!, big)).toBe(true);
  });
});
