import { describe, expect, it } from "vitest";
import { decode, decodePrefix } from "../src/index.js";
import type { DecodeErrorCode } from "../src/index.js";
import { ascii, expectDecodeError } from "./helpers.js";

/** Each hostile input, the error it must produce, and the byte offset the error must name. */
const HOSTILE: Array<[name: string, input: string, code: DecodeErrorCode, offset: number]> = [
  ["empty input", "", "UNEXPECTED_END", 0],
  ["integer with leading zero", "i03e", "LEADING_ZERO", 0],
  ["negative integer with leading zero", "i-03e", "LEADING_ZERO", 0],
  ["negative zero", "i-0e", "NEGATIVE_ZERO", 0],
  ["empty integer", "ie", "INVALID_INTEGER", 0],
  ["minus sign only", "i-e", "INVALID_INTEGER", 0],
  ["plus sign", "i+5e", "INVALID_INTEGER", 1],
  ["fraction", "i1.5e", "INVALID_INTEGER", 2],
  ["integer cut short", "i123", "UNEXPECTED_END", 0],
  ["negative string length in list", "l-3:e", "NEGATIVE_LENGTH", 1],
  ["negative string length at top level", "-3:abc", "NEGATIVE_LENGTH", 0],
  ["negative string length as key", "d-1:ai1ee", "NEGATIVE_LENGTH", 1],
  ["string length past end", "5:abc", "UNEXPECTED_END", 0],
  ["huge string length past end", "99999999:abc", "STRING_TOO_LONG", 0],
  ["string length with leading zero", "03:abc", "LEADING_ZERO", 0],
  ["string length without colon", "3abc", "INVALID_TOKEN", 1],
  ["string length cut short", "12", "UNEXPECTED_END", 0],
  ["integer dict key", "di1ei2ee", "INVALID_KEY", 1],
  ["list dict key", "dlei2ee", "INVALID_KEY", 1],
  ["dict key without value", "d1:ae", "MISSING_VALUE", 4],
  ["duplicate key", "d1:ai1e1:ai2ee", "DUPLICATE_KEY", 7],
  ["unsorted keys (strict)", "d1:bi1e1:ai2ee", "UNSORTED_KEY", 7],
  ["unterminated list", "l", "UNEXPECTED_END", 1],
  ["unterminated dict", "d1:ai1e", "UNEXPECTED_END", 7],
  ["stray end marker", "e", "INVALID_TOKEN", 0],
  ["unknown token", "x", "INVALID_TOKEN", 0],
  ["unknown token in list", "li1exe", "INVALID_TOKEN", 4],
  ["trailing data", "i1ei2e", "TRAILING_DATA", 3],
  ["integer with too many digits", `i${"9".repeat(1001)}e`, "INTEGER_OUT_OF_RANGE", 0],
];

describe("decode rejects hostile input with a precise DecodeError", () => {
  for (const [name, input, code, offset] of HOSTILE) {
    it(`${name}: ${JSON.stringify(input.length > 24 ? `${input.slice(0, 24)}...` : input)} -> ${code}`, () => {
      const err = expectDecodeError(() => decode(ascii(input)), code);
      expect(err.context["offset"]).toBe(offset);
      expect(err.message).toContain(`at byte ${offset}`);
      expect(err.message.startsWith("bencode: ")).toBe(true);
    });
  }

  it("names the problem and offset in the message", () => {
    const err = expectDecodeError(() => decode(ascii("d8:announce3:url4:infoi03ee")), "LEADING_ZERO");
    expect(err.message).toBe("bencode: leading zero in integer at byte 22");
  });

  it("100k-deep list nesting throws DEPTH_EXCEEDED without overflowing the stack", () => {
    const started = performance.now();
    const err = expectDecodeError(() => decode(ascii("l".repeat(100_000))), "DEPTH_EXCEEDED");
    expect(err.context["offset"]).toBe(100);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("100k-deep dict nesting throws DEPTH_EXCEEDED", () => {
    expectDecodeError(() => decode(ascii("d1:a".repeat(100_000))), "DEPTH_EXCEEDED");
  });

  it("a custom depth limit of 1000 still decodes iteratively, and fails one level deeper", () => {
    const ok = ascii(`${"l".repeat(1000)}${"e".repeat(1000)}`);
    expect(() => decode(ok, { limits: { maxDepth: 1000 } })).not.toThrow();
    const deep = ascii(`${"l".repeat(1001)}${"e".repeat(1001)}`);
    expectDecodeError(() => decode(deep, { limits: { maxDepth: 1000 } }), "DEPTH_EXCEEDED");
  });

  it("exactly the depth limit is allowed", () => {
    expect(() => decode(ascii(`${"l".repeat(100)}${"e".repeat(100)}`))).not.toThrow();
    expectDecodeError(() => decode(ascii(`${"l".repeat(101)}${"e".repeat(101)}`)), "DEPTH_EXCEEDED");
  });

  it("counts values and keys against maxTokens", () => {
    // l + three integers = 4 tokens; dict: d + key + value = 3 tokens.
    expect(() => decode(ascii("li1ei2ei3ee"), { limits: { maxTokens: 4 } })).not.toThrow();
    expectDecodeError(() => decode(ascii("li1ei2ei3ee"), { limits: { maxTokens: 3 } }), "TOO_MANY_TOKENS");
    expect(() => decode(ascii("d1:ai1ee"), { limits: { maxTokens: 3 } })).not.toThrow();
    expectDecodeError(() => decode(ascii("d1:ai1ee"), { limits: { maxTokens: 2 } }), "TOO_MANY_TOKENS");
  });

  it("a flood of empty lists stops at the token limit", () => {
    const flood = ascii(`l${"le".repeat(3_000_000)}e`);
    expectDecodeError(() => decode(flood), "TOO_MANY_TOKENS");
  });

  it("enforces maxStringBytes before looking at the string's bytes", () => {
    expect(() => decode(ascii("4:abcd"), { limits: { maxStringBytes: 4 } })).not.toThrow();
    const err = expectDecodeError(() => decode(ascii("5:abcde"), { limits: { maxStringBytes: 4 } }), "STRING_TOO_LONG");
    expect(err.context["maxStringBytes"]).toBe(4);
  });

  it("a string length of 10^30 fails fast with STRING_TOO_LONG", () => {
    expectDecodeError(() => decode(ascii(`1${"0".repeat(30)}:x`)), "STRING_TOO_LONG");
  });

  it("keyOrder lenient accepts unsorted keys but never duplicates", () => {
    const unsorted = decode(ascii("d1:bi1e1:ai2ee"), { keyOrder: "lenient" }) as Map<string, unknown>;
    expect([...unsorted.keys()]).toEqual(["b", "a"]);
    expectDecodeError(() => decode(ascii("d1:bi1e1:ai2e1:bi3ee"), { keyOrder: "lenient" }), "DUPLICATE_KEY");
  });

  it("unsorted keys deep inside a list are caught too", () => {
    expectDecodeError(() => decode(ascii("lld2:zzi1e2:aai2eeee")), "UNSORTED_KEY");
  });

  it("decodePrefix never reads past the end of a truncated value", () => {
    expectDecodeError(() => decodePrefix(ascii("d5:piecei0e")), "UNEXPECTED_END");
    expectDecodeError(() => decodePrefix(ascii("d5:piece10:abc")), "UNEXPECTED_END");
  });

  it("decodes only the part of a subarray it was given", () => {
    const backing = ascii("xx4:spamyy");
    const view = backing.subarray(2, 7); // "4:spa": the string runs past the view
    expectDecodeError(() => decode(view), "UNEXPECTED_END");
  });
});
