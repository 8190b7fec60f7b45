import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToLatin1, decode, DecodeError, encode } from "../src/index.js";
import type { BValue } from "../src/index.js";
import { sameBytes } from "./helpers.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Integers as decode returns them: numbers when safe, bigints (of either sign) beyond that. */
const integer: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.maxSafeInteger(),
  fc.integer({ min: -1000, max: 1000 }),
  fc
    .tuple(fc.boolean(), fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: 2n ** 256n })))
    .map(([negative, extra]) => (negative ? -(MAX_SAFE + extra) : MAX_SAFE + extra)),
);

/** Keys are arbitrary bytes, in their latin1 form. */
const key = fc.uint8Array({ maxLength: 8 }).map((b) => bytesToLatin1(b));

const { value: bvalue } = fc.letrec<{ value: BValue; list: BValue[]; dict: Map<string, BValue> }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    integer,
    fc.uint8Array({ maxLength: 24 }),
    tie("list"),
    tie("dict"),
  ),
  list: fc.array(tie("value"), { maxLength: 5 }),
  dict: fc
    .uniqueArray(fc.tuple(key, tie("value")), { selector: (entry) => entry[0], maxLength: 5 })
    // Decode yields entries in byte order; latin1 strings compare like their bytes.
    .map((entries) => new Map(entries.sort((a, b) => (a[0] < b[0] ? -1 : 1)))),
}));

/** Byte strings that look like bencode, so decoding gets past the first byte. */
const bencodeish = fc
  .array(
    fc.oneof(
      fc.constantFrom("i", "l", "d", "e", ":", "-", "0", "1", "2", "3", "9", "1:a", "2:ab", "i1e", "le", "de"),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => new TextEncoder().encode(parts.join("")));

/** A canonical encoding with a few bytes overwritten. */
const mutatedEncoding = fc
  .tuple(bvalue, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
  .map(([value, edits]) => {
    const bytes = encode(value);
    for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
    return bytes;
  });

/** Decodes; returns the value, or undefined when a DecodeError (and nothing else) was thrown. */
function decodeOrDecodeError(bytes: Uint8Array, lenient = false): BValue | undefined {
  try {
    return decode(bytes, lenient ? { keyOrder: "lenient" } : undefined);
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

describe("bencode properties", () => {
  it("arbitrary bytes decode to a value or throw DecodeError, nothing else", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), bencodeish, mutatedEncoding), fc.boolean(), (bytes, lenient) => {
        decodeOrDecodeError(bytes, lenient);
      }),
      { numRuns: 3000 },
    );
  });

  it("whatever strict decode accepts is canonical: encode(decode(b)) equals b", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(bencodeish, mutatedEncoding), (bytes) => {
        const value = decodeOrDecodeError(bytes);
        if (value === undefined) return;
        accepted += 1;
        expect(sameBytes(encode(value), bytes)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // Guards against a generator drift that would make the property vacuous.
    expect(accepted).toBeGreaterThan(100);
  });

  it("decode(encode(v)) deep-equals v for arbitrary BValue trees", () => {
    fc.assert(
      fc.property(bvalue, (value) => {
        const bytes = encode(value);
        const back = decode(bytes);
        expect(back).toEqual(value);
        expect(sameBytes(encode(back), bytes)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
