import { describe, expect, it } from "vitest";
import { decode, decodePrefix, decodeWithSpans, encode } from "../src/index.js";
import type { BDict, BValue } from "../src/index.js";
import { ascii, expectDecodeError, latin1 } from "./helpers.js";

const bytes = (text: string): Uint8Array => ascii(text);

describe("decode vectors (BEP 3)", () => {
  const vectors: Array<[string, BValue]> = [
    ["i0e", 0],
    ["i42e", 42],
    ["i-42e", -42],
    ["i9007199254740991e", Number.MAX_SAFE_INTEGER],
    ["i-9007199254740991e", -Number.MAX_SAFE_INTEGER],
    ["i9007199254740992e", 9007199254740992n],
    ["i-9007199254740992e", -9007199254740992n],
    ["i123456789012345678901234567890e", 123456789012345678901234567890n],
    ["i1000000000000000e", 1_000_000_000_000_000],
    ["0:", bytes("")],
    ["4:spam", bytes("spam")],
    ["le", []],
    ["l4:spami42ee", [bytes("spam"), 42]],
    ["de", new Map()],
    ["d3:bar4:spam3:fooi42ee", new Map<string, BValue>([["bar", bytes("spam")], ["foo", 42]])],
    ["d4:spaml1:a1:bee", new Map<string, BValue>([["spam", [bytes("a"), bytes("b")]]])],
    ["lli1eeli2eee", [[1], [2]]],
  ];
  for (const [input, expected] of vectors) {
    it(`decodes ${input}`, () => {
      expect(decode(bytes(input))).toEqual(expected);
    });
  }

  it("returns large integers as exact bigints and safe ones as numbers", () => {
    expect(typeof decode(bytes("i9007199254740991e"))).toBe("number");
    expect(typeof decode(bytes("i9007199254740992e"))).toBe("bigint");
    // 16 digits but still safe: goes through BigInt and comes back as a number.
    expect(decode(bytes("i1234567890123456e"))).toBe(1234567890123456);
  });

  it("keeps non-UTF-8 key bytes as latin1 chars, one per byte", () => {
    const input = latin1("d2:\xff\xfei1ee");
    const dict = decode(input) as BDict;
    expect([...dict.keys()]).toEqual(["\xff\xfe"]);
    expect(encode(dict)).toEqual(input);
  });

  it("sorts keys by raw bytes: 0xff sorts after ASCII", () => {
    expect(() => decode(latin1("d1:a1:x1:\xff1:ye"))).not.toThrow();
    expectDecodeError(() => decode(latin1("d1:\xff1:y1:a1:xe")), "UNSORTED_KEY");
  });

  it("treats __proto__ as an ordinary key and pollutes no prototype", () => {
    const input = bytes("d9:__proto__d8:pollutedi1ee11:constructord9:prototyped8:pollutedi1eeee");
    const dict = decode(input) as BDict;
    expect(dict).toBeInstanceOf(Map);
    expect([...dict.keys()]).toEqual(["__proto__", "constructor"]);
    expect((dict.get("__proto__") as BDict).get("polluted")).toBe(1);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(Object.getPrototypeOf(dict)).toBe(Map.prototype);
    expect(encode(dict)).toEqual(input);
  });

  it("returns byte strings as views that alias the input (no copy)", () => {
    const input = bytes("l4:spame");
    const [spam] = decode(input) as [Uint8Array];
    expect(spam.buffer).toBe(input.buffer);
    expect(spam.byteOffset).toBe(3);
    input[3] = 0x53; // 'S': the decoded value sees the change because it is a view.
    expect(new TextDecoder().decode(spam)).toBe("Spam");
  });

  it("returns plain Uint8Array views even for Buffer input", () => {
    const input = Buffer.from("l4:spame");
    const [spam] = decode(input) as [Uint8Array];
    expect(spam.constructor).toBe(Uint8Array);
    expect(spam.buffer).toBe(input.buffer);
  });

  it("decodes a 2 MB pieces string as a view, quickly", () => {
    const pieces = new Uint8Array(2 * 1024 * 1024).fill(7);
    const input = encode(new Map<string, BValue>([["pieces", pieces]]));
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      const out = (decode(input) as BDict).get("pieces") as Uint8Array;
      expect(out.buffer).toBe(input.buffer);
      expect(out.length).toBe(pieces.length);
    }
    // 100 decodes of 2 MB: a byte-by-byte copy would take seconds, a view takes microseconds.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("allowTrailing ignores bytes after the first value", () => {
    expect(decode(bytes("i1egarbage"), { allowTrailing: true })).toBe(1);
  });
});

describe("decodePrefix", () => {
  it("reports where the leading dict ends (BEP 9 data message)", () => {
    const header = bytes("d8:msg_typei1e5:piecei0e10:total_sizei8ee");
    const raw = bytes("RAWBYTES");
    const message = new Uint8Array([...header, ...raw]);
    const { value, end } = decodePrefix(message);
    expect(end).toBe(header.length);
    expect((value as BDict).get("total_size")).toBe(8);
    expect(message.subarray(end)).toEqual(raw);
  });

  it("works on a subarray with a non-zero byteOffset", () => {
    const backing = bytes("XXXXi7eYY");
    const { value, end } = decodePrefix(backing.subarray(4));
    expect(value).toBe(7);
    expect(end).toBe(3);
  });
});

describe("decodeWithSpans", () => {
  it("returns the exact raw byte span of the info dict", () => {
    const info = "d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces0:e";
    const input = bytes(`d8:announce3:url4:info${info}3:zzzi1ee`);
    const { value, spans } = decodeWithSpans(input, ["info"]);
    const span = spans.get("info")!;
    expect(new TextDecoder().decode(input.subarray(span.start, span.end))).toBe(info);
    expect((value as BDict).get("zzz")).toBe(1);
  });

  it("reports spans for scalar values and only for top-level keys", () => {
    const input = bytes("d1:ad4:infoi1ee4:infoi22ee");
    const { spans } = decodeWithSpans(input, ["info", "a", "missing"]);
    expect(spans.get("info")).toEqual({ start: 21, end: 25 });
    expect(spans.get("a")).toEqual({ start: 4, end: 15 });
    expect(spans.has("missing")).toBe(false);
  });

  it("keeps the raw span of an unsorted info dict under lenient key order", () => {
    const info = "d4:name1:a6:lengthi1ee";
    const input = bytes(`d4:info${info}8:announce1:xe`);
    const { spans } = decodeWithSpans(input, ["info"], { keyOrder: "lenient" });
    const span = spans.get("info")!;
    expect(new TextDecoder().decode(input.subarray(span.start, span.end))).toBe(info);
  });

  it("gives no spans when the top level is not a dict", () => {
    expect(decodeWithSpans(bytes("ld4:infoi1eee"), ["info"]).spans.size).toBe(0);
  });
});

describe("strictKeyOrderIn", () => {
  const lenientOuter = { keyOrder: "lenient", strictKeyOrderIn: ["info"] } as const;

  it("accepts unsorted keys outside the chosen values and sorted keys inside them", () => {
    const input = bytes("d4:infod1:ai1e1:bd1:xi1e1:yi2eee8:announce1:ue");
    const { value, spans } = decodeWithSpans(input, ["info"], lenientOuter);
    expect(((value as BDict).get("info") as BDict).get("a")).toBe(1);
    expect(spans.get("info")).toEqual({ start: 7, end: 32 });
  });

  it("refuses unsorted keys in a chosen value, however deep", () => {
    expectDecodeError(() => decodeWithSpans(bytes("d4:infod1:bi1e1:ai2eee"), ["info"], lenientOuter), "UNSORTED_KEY");
    expectDecodeError(() => decodeWithSpans(bytes("d4:infold1:bi1e1:ai2eeeee"), ["info"], lenientOuter), "UNSORTED_KEY");
    expectDecodeError(() => decodeWithSpans(bytes("d4:infod1:ad1:yi1e1:xi2eeee"), ["info"], lenientOuter), "UNSORTED_KEY");
  });

  it("leaves other top-level values and nested dicts of the same name lenient", () => {
    expect(() => decodeWithSpans(bytes("d1:zd1:bi1e1:ai2ee4:infod1:ai1eee"), ["info"], lenientOuter)).not.toThrow();
    expect(() => decodeWithSpans(bytes("d1:zd4:infod1:bi1e1:ai2eeee"), ["info"], lenientOuter)).not.toThrow();
  });
});
