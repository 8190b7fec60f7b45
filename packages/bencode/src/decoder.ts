import type { BDict, BValue } from "./bvalue.js";
import { DecodeError } from "./decode-error.js";
import type { DecodeErrorCode } from "./decode-error.js";
import { bytesToLatin1 } from "./latin1.js";
import type { BencodeLimits } from "./limits.js";
import { MAX_INTEGER_DIGITS } from "./limits.js";

const CHAR_I = 0x69; // 'i'
const CHAR_L = 0x6c; // 'l'
const CHAR_D = 0x64; // 'd'
const CHAR_E = 0x65; // 'e'
const CHAR_COLON = 0x3a; // ':'
const CHAR_MINUS = 0x2d; // '-'
const CHAR_0 = 0x30; // '0'
const CHAR_9 = 0x39; // '9'

/** Up to 15 decimal digits always fit a double exactly, so they skip the BigInt path. */
const MAX_FAST_INTEGER_DIGITS = 15;
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIGINT = -MAX_SAFE_BIGINT;

export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface DecoderSettings {
  readonly limits: BencodeLimits;
  readonly strictKeyOrder: boolean;
  /**
   * Top-level dict keys below which key order is strict even when `strictKeyOrder` is false;
   * undefined when there are none.
   */
  readonly strictKeys: ReadonlySet<string> | undefined;
  /** Top-level dict keys whose value spans are wanted; undefined when none are. */
  readonly spanKeys: ReadonlySet<string> | undefined;
}

export interface DecodedPrefix {
  readonly value: BValue;
  readonly end: number;
  readonly spans: Map<string, Span>;
}

/** One open list or dict on the explicit stack (recursion would overflow on deep input). */
interface Frame {
  readonly start: number;
  readonly list: BValue[] | undefined;
  readonly dict: BDict | undefined;
  /** The key whose value comes next; undefined while the dict expects a key. */
  key: string | undefined;
  keyStart: number;
  previousKey: string | undefined;
  /** Whether this dict's keys must be in ascending order. */
  readonly strict: boolean;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= CHAR_0 && byte <= CHAR_9;
}

function fail(code: DecodeErrorCode, problem: string, offset: number, extra: Record<string, number | string> = {}): never {
  throw new DecodeError(code, `bencode: ${problem} at byte ${offset}`, { context: { offset, ...extra } });
}

/** A short printable rendering of a key for messages: JSON escapes make control bytes visible. */
function showKey(key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
  return JSON.stringify(shown);
}

/**
 * Decodes exactly one value starting at `start` and reports where it ended. Runs in one loop
 * over an explicit stack, so nesting depth costs heap, not call stack, and the depth limit is a
 * plain counter. Strings are `subarray` views, so large strings cost no copy.
 */
export function decodeOne(input: Uint8Array, start: number, settings: DecoderSettings): DecodedPrefix {
  const { limits, strictKeyOrder, strictKeys, spanKeys } = settings;
  // A Buffer's subarray is a Buffer; a plain view over the same memory makes every decoded
  // string a plain Uint8Array whatever the caller passed in.
  const bytes = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const length = bytes.length;
  const stack: Frame[] = [];
  const spans = new Map<string, Span>();
  let tokens = 0;
  let pos = start;

  const countToken = (at: number): void => {
    tokens += 1;
    if (tokens > limits.maxTokens) {
      fail("TOO_MANY_TOKENS", `more than ${limits.maxTokens} tokens`, at, { maxTokens: limits.maxTokens });
    }
  };

  // Reads a byte string's length prefix at `at`, returns where its content starts and leaves
  // where it ends in `stringEnd` (a closure variable saves allocating a pair per string).
  let stringEnd = 0;
  const readString = (at: number): number => {
    if (bytes[at] === CHAR_0 && isDigit(bytes[at + 1])) fail("LEADING_ZERO", "leading zero in string length", at);
    let p = at;
    let size = 0;
    while (p < length && isDigit(bytes[p])) {
      size = size * 10 + (bytes[p]! - CHAR_0);
      if (size > limits.maxStringBytes) {
        fail("STRING_TOO_LONG", `string longer than ${limits.maxStringBytes} bytes`, at, {
          maxStringBytes: limits.maxStringBytes,
        });
      }
      p++;
    }
    if (p >= length) fail("UNEXPECTED_END", "unexpected end of input in string length", at);
    if (bytes[p] !== CHAR_COLON) fail("INVALID_TOKEN", `expected ':' after string length, found byte 0x${hex(bytes[p]!)}`, p);
    const contentStart = p + 1;
    if (contentStart + size > length) {
      fail("UNEXPECTED_END", `string of ${size} bytes runs past the end of input (${length} bytes)`, at, { size });
    }
    stringEnd = contentStart + size;
    return contentStart;
  };

  for (;;) {
    const top = stack[stack.length - 1];
    if (pos >= length) {
      const unclosed = top === undefined ? "" : `${top.dict ? "dict" : "list"} opened at byte ${top.start} is not closed: `;
      fail("UNEXPECTED_END", `${unclosed}unexpected end of input`, pos);
    }
    const byte = bytes[pos]!;
    let value: BValue;
    let valueStart = pos;

    if (top !== undefined && byte === CHAR_E) {
      if (top.dict !== undefined && top.key !== undefined) {
        fail("MISSING_VALUE", `dict key ${showKey(top.key)} (byte ${top.keyStart}) has no value`, pos);
      }
      stack.pop();
      pos += 1;
      value = top.dict ?? top.list!;
      valueStart = top.start;
    } else if (top?.dict !== undefined && top.key === undefined) {
      // A dict expects a key here, and only byte strings are keys.
      if (!isDigit(byte)) {
        if (byte === CHAR_MINUS && isDigit(bytes[pos + 1])) fail("NEGATIVE_LENGTH", "negative string length", pos);
        fail("INVALID_KEY", `dict key must be a byte string, found byte 0x${hex(byte)}`, pos);
      }
      countToken(pos);
      const contentStart = readString(pos);
      const contentEnd = stringEnd;
      const key = bytesToLatin1(bytes, contentStart, contentEnd);
      if (top.dict.has(key)) fail("DUPLICATE_KEY", `duplicate dict key ${showKey(key)}`, pos, { key: key.slice(0, 64) });
      if (top.strict && top.previousKey !== undefined && key < top.previousKey) {
        fail("UNSORTED_KEY", `dict key ${showKey(key)} is not sorted after ${showKey(top.previousKey)}`, pos, { key: key.slice(0, 64) });
      }
      top.key = key;
      top.keyStart = pos;
      top.previousKey = key;
      pos = contentEnd;
      continue;
    } else {
      countToken(pos);
      if (byte === CHAR_L || byte === CHAR_D) {
        if (stack.length >= limits.maxDepth) {
          fail("DEPTH_EXCEEDED", `nesting deeper than ${limits.maxDepth}`, pos, { maxDepth: limits.maxDepth });
        }
        const isDict = byte === CHAR_D;
        // Strictness is inherited, and switched on below the chosen keys of the top-level dict.
        const strict =
          strictKeyOrder ||
          (top !== undefined && (top.strict || (stack.length === 1 && top.dict !== undefined && strictKeys?.has(top.key!) === true)));
        stack.push({
          start: pos,
          list: isDict ? undefined : [],
          dict: isDict ? new Map() : undefined,
          key: undefined,
          keyStart: pos,
          previousKey: undefined,
          strict,
        });
        pos += 1;
        continue;
      }
      if (byte === CHAR_I) {
        const parsed = readInteger(bytes, pos);
        value = parsed.value;
        pos = parsed.end;
      } else if (isDigit(byte)) {
        const contentStart = readString(pos);
        const contentEnd = stringEnd;
        value = bytes.subarray(contentStart, contentEnd);
        pos = contentEnd;
      } else if (byte === CHAR_MINUS && isDigit(bytes[pos + 1])) {
        fail("NEGATIVE_LENGTH", "negative string length", pos);
      } else {
        fail("INVALID_TOKEN", `unexpected byte 0x${hex(byte)}`, pos);
      }
    }

    // A value is complete: hand it to its container, or finish if it is the outermost one.
    const parent = stack[stack.length - 1];
    if (parent === undefined) return { value, end: pos, spans };
    if (parent.list !== undefined) {
      parent.list.push(value);
    } else {
      const key = parent.key!;
      parent.dict!.set(key, value);
      parent.key = undefined;
      if (spanKeys !== undefined && stack.length === 1 && spanKeys.has(key)) {
        spans.set(key, { start: valueStart, end: pos });
      }
    }
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** Parses `i<digits>e` at `at`, exactly: safe integers as numbers, larger ones as bigints. */
function readInteger(bytes: Uint8Array, at: number): { value: number | bigint; end: number } {
  const length = bytes.length;
  let p = at + 1;
  const negative = bytes[p] === CHAR_MINUS;
  if (negative) p++;
  const digitsStart = p;
  while (p < length && isDigit(bytes[p])) {
    p++;
    if (p - digitsStart > MAX_INTEGER_DIGITS) {
      fail("INTEGER_OUT_OF_RANGE", `integer longer than ${MAX_INTEGER_DIGITS} digits`, at);
    }
  }
  if (p >= length) fail("UNEXPECTED_END", "unexpected end of input in integer", at);
  if (bytes[p] !== CHAR_E) fail("INVALID_INTEGER", `unexpected byte 0x${hex(bytes[p]!)} in integer`, p);
  const digits = p - digitsStart;
  if (digits === 0) fail("INVALID_INTEGER", "integer has no digits", at);
  if (bytes[digitsStart] === CHAR_0) {
    if (digits > 1) fail("LEADING_ZERO", "leading zero in integer", at);
    if (negative) fail("NEGATIVE_ZERO", "negative zero integer", at);
  }
  const end = p + 1;
  if (digits <= MAX_FAST_INTEGER_DIGITS) {
    let n = 0;
    for (let q = digitsStart; q < p; q++) n = n * 10 + (bytes[q]! - CHAR_0);
    return { value: negative ? -n : n, end };
  }
  const big = BigInt(bytesToLatin1(bytes, at + 1, p));
  const value = big >= MIN_SAFE_BIGINT && big <= MAX_SAFE_BIGINT ? Number(big) : big;
  return { value, end };
}
