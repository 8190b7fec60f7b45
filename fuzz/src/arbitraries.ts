import fc from "fast-check";
import { bytesToLatin1, type BValue } from "@shoal/bencode";
import { ascii } from "./target.js";

/*
 * fast-check arbitraries shared by the targets. They build well-formed structures, which reach
 * deep into a decoder; the mutators then break them in every way a byte can be broken.
 */

/** Draws `count` values of `arb` deterministically from `seed`. */
export function sample<T>(arb: fc.Arbitrary<T>, seed: number, count: number): T[] {
  return fc.sample(arb, { seed, numRuns: count });
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Integers as bencode carries them: small, safe, and beyond the safe range as bigints. */
export const bInteger: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1)),
  fc.bigInt({ min: 1n, max: 2n ** 128n }).map((extra) => MAX_SAFE + extra),
  fc.bigInt({ min: 1n, max: 2n ** 128n }).map((extra) => -(MAX_SAFE + extra)),
);

/** Keys: a few the parsers look for, and arbitrary bytes (as latin1, the form BDict keys take). */
export function bKey(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((b) => bytesToLatin1(b)) });
}

/** Arbitrary bencode trees with the given keys mixed in. */
export function bValue(known: readonly string[]): fc.Arbitrary<BValue> {
  const key = bKey(known);
  return fc.letrec<{ value: BValue; list: BValue[]; dict: Map<string, BValue> }>((tie) => ({
    value: fc.oneof({ depthSize: "small", withCrossShrink: true }, bInteger, fc.uint8Array({ maxLength: 32 }), tie("list"), tie("dict")),
    list: fc.array(tie("value"), { maxLength: 6 }),
    dict: fc
      .uniqueArray(fc.tuple(key, tie("value")), { selector: (e) => e[0], maxLength: 6 })
      .map((entries) => new Map(entries.sort((a, b) => (a[0] < b[0] ? -1 : 1)))),
  })).value;
}

/** Strings of bencode tokens and fragments: shapes a random tree would not produce (bad lengths, stray ends). */
export const bencodeSoup: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.oneof(
      fc.constantFrom("i", "l", "d", "e", ":", "-", "0", "1", "9", "1:a", "2:ab", "i1e", "i-1e", "i0e", "le", "de", "0:", "4:info", "3:abc"),
      fc.string({ maxLength: 3 }),
      fc.integer({ min: 0, max: 40 }).map((n) => `${n}:${"x".repeat(Math.max(0, n - 1))}`),
    ),
    { maxLength: 48 },
  )
  .map((parts) => ascii(parts.join("")));

/** IP literals and near misses, as trackers and peers write them. */
export const ipText: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom("0.0.0.0", "::", "::1", "::ffff:1.2.3.4", "256.1.1.1", "1.2.3", "01.2.3.4", "example.com", "", "1.2.3.4 ", "fe80::1%eth0", ":::", "1::2::3"),
);
