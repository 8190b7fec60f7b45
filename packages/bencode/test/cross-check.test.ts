import npmBencode from "bencode";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../src/index.js";
import type { BValue } from "../src/index.js";
import { ascii, sameBytes } from "./helpers.js";

/**
 * The npm `bencode` package is a lenient reference decoder. On canonical input with ASCII keys
 * and safe integers (its limits), both decoders must agree on the structure and both encoders
 * must reproduce the input byte for byte.
 */
interface NpmBencode {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}
const reference = npmBencode as unknown as NpmBencode;

/** A comparable plain form: dicts become sorted [key, value] pairs, byte strings become arrays. */
function normalise(value: unknown): unknown {
  if (typeof value === "number" || typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(normalise);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>);
  return entries.sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, normalise(v)]);
}

const asciiKey = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz ._-0123456789"), maxLength: 8 });

const { value: canonical } = fc.letrec<{ value: BValue; list: BValue[]; dict: Map<string, BValue> }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.uint8Array({ maxLength: 24 }),
    tie("list"),
    tie("dict"),
  ),
  list: fc.array(tie("value"), { maxLength: 5 }),
  dict: fc
    .uniqueArray(fc.tuple(asciiKey, tie("value")), { selector: (entry) => entry[0], maxLength: 5 })
    .map((entries) => new Map(entries)),
}));

const VECTORS = [
  "i0e",
  "i-1e",
  "i9007199254740991e",
  "0:",
  "4:spam",
  "le",
  "de",
  "d3:bar4:spam3:fooi42ee",
  "d8:announce23:http://tracker.test/ann4:infod6:lengthi1024e4:name5:a.bin12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
  "ld1:1i1e1:2i2eel3:abcee",
];

describe("cross-check against npm bencode", () => {
  for (const vector of VECTORS) {
    it(`agrees on ${vector.length > 30 ? `${vector.slice(0, 30)}...` : vector}`, () => {
      const bytes = ascii(vector);
      expect(normalise(decode(bytes))).toEqual(normalise(reference.decode(bytes)));
      expect(sameBytes(encode(decode(bytes)), bytes)).toBe(true);
      expect(sameBytes(reference.encode(decode(bytes)), bytes)).toBe(true);
    });
  }

  it("agrees on arbitrary canonical documents", () => {
    fc.assert(
      fc.property(canonical, (value) => {
        const ours = encode(value);
        const theirs = reference.encode(value);
        expect(sameBytes(ours, theirs)).toBe(true);
        expect(normalise(decode(ours))).toEqual(normalise(reference.decode(ours)));
        expect(sameBytes(encode(reference.decode(ours) as BValue), ours)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
