import type { Rng } from "./rng.js";

/*
 * Byte-level mutators in the style of AFL's havoc stage, plus two that know the formats under
 * test: decimal numbers (bencode lengths and integers) and big-endian integers (wire and UDP
 * tracker fields). A mutated input is a stack of one to eight of them on a copy of the original.
 */

/** Byte values that sit on decoder boundaries: sign bits, bencode tokens, digits, NUL. */
const INTERESTING_BYTES = [0x00, 0x01, 0x13, 0x14, 0x20, 0x2d, 0x30, 0x31, 0x39, 0x3a, 0x64, 0x65, 0x69, 0x6c, 0x7f, 0x80, 0xfe, 0xff];

/** Numbers on the edges of the ranges decoders check: signed and unsigned widths, safe integers. */
const INTERESTING_NUMBERS = [
  "0",
  "1",
  "-1",
  "19",
  "20",
  "68",
  "255",
  "256",
  "16384",
  "16385",
  "65535",
  "65536",
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "9007199254740991",
  "9007199254740992",
  "18446744073709551616",
  "-0",
  "00",
  "999999999999999999999999999999",
];

const INTERESTING_U32 = [0, 1, 2, 3, 4, 5, 9, 12, 13, 16, 17, 19, 20, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x4001, 0x4009, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export interface MutationContext {
  readonly rng: Rng;
  /** Other inputs of the target, for splicing. */
  readonly pool: readonly Uint8Array[];
  /** Tokens worth inserting whole (bencode keys, protocol strings). */
  readonly dictionary: readonly Uint8Array[];
  /** Mutated inputs are cut to this size, so one cannot grow without bound. */
  readonly maxBytes: number;
}

type Mutator = (input: Uint8Array, ctx: MutationContext) => Uint8Array;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A position inside the input, or 0 for an empty one. */
const position = (input: Uint8Array, ctx: MutationContext): number => ctx.rng.below(input.length + 1);

const MUTATORS: readonly Mutator[] = [
  function flipBit(input, { rng }) {
    if (input.length === 0) return input;
    const out = input.slice();
    const at = rng.below(out.length);
    out[at]! ^= 1 << rng.below(8);
    return out;
  },
  function randomByte(input, { rng }) {
    if (input.length === 0) return input;
    const out = input.slice();
    out[rng.below(out.length)] = rng.u32() & 0xff;
    return out;
  },
  function interestingByte(input, { rng }) {
    if (input.length === 0) return input;
    const out = input.slice();
    out[rng.below(out.length)] = rng.pick(INTERESTING_BYTES);
    return out;
  },
  function insertBytes(input, ctx) {
    const at = position(input, ctx);
    return concat(input.subarray(0, at), ctx.rng.bytes(ctx.rng.between(1, 8)), input.subarray(at));
  },
  function deleteRange(input, { rng }) {
    if (input.length === 0) return input;
    const at = rng.below(input.length);
    const length = 1 + rng.skewed(input.length - at - 1);
    return concat(input.subarray(0, at), input.subarray(at + length));
  },
  function duplicateRange(input, { rng }) {
    if (input.length === 0) return input;
    const at = rng.below(input.length);
    const length = 1 + rng.skewed(input.length - at - 1);
    const times = rng.between(1, 4);
    const range = input.subarray(at, at + length);
    return concat(input.subarray(0, at + length), ...Array.from({ length: times }, () => range), input.subarray(at + length));
  },
  function overwriteWithCopy(input, { rng }) {
    if (input.length < 2) return input;
    const out = input.slice();
    const from = rng.below(out.length);
    const to = rng.below(out.length);
    const length = 1 + rng.skewed(Math.min(out.length - from, out.length - to) - 1);
    out.set(input.subarray(from, from + length), to);
    return out;
  },
  function truncate(input, { rng }) {
    return input.subarray(0, rng.below(input.length + 1)).slice();
  },
  function appendRandom(input, { rng }) {
    return concat(input, rng.bytes(rng.skewed(64)));
  },
  function splice(input, ctx) {
    if (ctx.pool.length === 0) return input;
    const other = ctx.rng.pick(ctx.pool);
    const cut = position(input, ctx);
    const from = ctx.rng.below(other.length + 1);
    return concat(input.subarray(0, cut), other.subarray(from));
  },
  function insertToken(input, ctx) {
    if (ctx.dictionary.length === 0) return input;
    const at = position(input, ctx);
    return concat(input.subarray(0, at), ctx.rng.pick(ctx.dictionary), input.subarray(at));
  },
  function overwriteToken(input, ctx) {
    if (ctx.dictionary.length === 0 || input.length === 0) return input;
    const token = ctx.rng.pick(ctx.dictionary);
    const out = input.slice();
    out.set(token.subarray(0, Math.max(0, out.length - 1)), ctx.rng.below(Math.max(1, out.length - token.length + 1)));
    return out;
  },
  /** Replaces a run of ASCII digits (a bencode length or integer) with a boundary value. */
  function replaceNumber(input, { rng }) {
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < input.length; ) {
      if (input[i]! >= 0x30 && input[i]! <= 0x39) {
        let j = i;
        while (j < input.length && input[j]! >= 0x30 && input[j]! <= 0x39) j++;
        runs.push([i, j]);
        i = j;
      } else {
        i++;
      }
    }
    if (runs.length === 0) return input;
    const [start, end] = rng.pick(runs);
    const replacement = rng.chance(0.2) ? String(Number(new TextDecoder().decode(input.subarray(start, end))) + rng.between(-2, 2)) : rng.pick(INTERESTING_NUMBERS);
    return concat(input.subarray(0, start), ascii(replacement), input.subarray(end));
  },
  /** Overwrites a big-endian 8, 16 or 32-bit field (wire lengths, UDP counts and actions). */
  function interestingInteger(input, { rng }) {
    const width = rng.pick([1, 2, 4]);
    if (input.length < width) return input;
    const out = input.slice();
    const at = rng.below(out.length - width + 1);
    let value = rng.chance(0.3) ? input.length + rng.between(-5, 5) : rng.pick(INTERESTING_U32);
    if (rng.chance(0.2)) value = (value + rng.between(-2, 2)) >>> 0;
    for (let i = width - 1; i >= 0; i--) {
      out[at + i] = value & 0xff;
      value = Math.floor(value / 256);
    }
    return out;
  },
];

/** One to eight stacked mutations of `input`, cut to `ctx.maxBytes`. */
export function havoc(input: Uint8Array, ctx: MutationContext): Uint8Array {
  let out = input;
  const rounds = 1 << ctx.rng.below(4);
  for (let i = 0; i < rounds; i++) {
    out = ctx.rng.pick(MUTATORS)(out, ctx);
    if (out.length > ctx.maxBytes) out = out.subarray(0, ctx.maxBytes);
  }
  return out === input ? input.slice() : out;
}

/** The mutator names, for the documentation and the harness's self-description. */
export const MUTATOR_NAMES: readonly string[] = MUTATORS.map((m) => m.name);
