import type { BValue } from "./bvalue.js";
import { DecodeError } from "./decode-error.js";
import { latin1ToBytes } from "./latin1.js";

/**
 * What `encode` accepts: any BValue, plus JS strings (written as UTF-8 byte strings) and plain
 * objects (written as dicts) for hand-built messages. Object properties that are `undefined`
 * are left out, so optional fields can be written inline.
 */
export type Encodable =
  | BValue
  | string
  | readonly Encodable[]
  | ReadonlyMap<string, Encodable>
  | { readonly [key: string]: Encodable | undefined };

/**
 * Values nested deeper than this are refused. It is ten times the decoder's default depth, far
 * within the JS call stack, and it turns a cyclic value into an error instead of a stack overflow.
 */
const MAX_ENCODE_DEPTH = 1000;

/** Start small (most messages are tiny) and double; large strings grow the buffer in one step. */
const INITIAL_CAPACITY_BYTES = 256;

const utf8 = new TextEncoder();

class ByteWriter {
  private buffer = new Uint8Array(INITIAL_CAPACITY_BYTES);
  private length = 0;

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** Writes a string whose chars are all ASCII (digits, signs, markers). */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.buffer[this.length++] = text.charCodeAt(i);
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** The keys and indices leading to the value being written; only formatted when a value fails. */
type PathStack = Array<string | number>;

function unencodable(problem: string, path: PathStack): never {
  let field = "value";
  for (const segment of path) field += typeof segment === "number" ? `[${segment}]` : `.${segment}`;
  throw new DecodeError("UNENCODABLE", `bencode: cannot encode ${field}: ${problem}`, { context: { field } });
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function writeString(out: ByteWriter, data: Uint8Array): void {
  out.ascii(`${data.length}:`);
  out.bytes(data);
}

/** Dict entries: raw key bytes, the key as given (for error paths), and the value. */
type Entry = [Uint8Array, string, unknown];

function writeDict(out: ByteWriter, entries: Entry[], path: PathStack): void {
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  out.byte(0x64);
  for (let i = 0; i < entries.length; i++) {
    const [keyBytes, key, value] = entries[i]!;
    // Distinct object keys can still collide: UTF-8 encoding turns lone surrogates into U+FFFD.
    if (i > 0 && compareBytes(entries[i - 1]![0], keyBytes) === 0) {
      unencodable(`keys ${JSON.stringify(entries[i - 1]![1])} and ${JSON.stringify(key)} encode to the same bytes`, path);
    }
    writeString(out, keyBytes);
    path.push(key);
    writeValue(out, value, path);
    path.pop();
  }
  out.byte(0x65);
}

function writeValue(out: ByteWriter, value: unknown, path: PathStack): void {
  if (path.length > MAX_ENCODE_DEPTH) unencodable(`nested deeper than ${MAX_ENCODE_DEPTH} (a cycle?)`, path);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) unencodable(`${value} is not a safe integer (use a bigint)`, path);
    out.ascii(`i${value === 0 ? 0 : value}e`);
  } else if (typeof value === "bigint") {
    out.ascii(`i${value}e`);
  } else if (typeof value === "string") {
    writeString(out, utf8.encode(value));
  } else if (value instanceof Uint8Array) {
    writeString(out, value);
  } else if (Array.isArray(value)) {
    out.byte(0x6c);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      writeValue(out, value[i], path);
      path.pop();
    }
    out.byte(0x65);
  } else if (value instanceof Map) {
    const entries: Entry[] = [];
    for (const [key, item] of value as Map<unknown, unknown>) {
      if (typeof key !== "string") unencodable("Map keys must be strings", path);
      const keyBytes = latin1ToBytes(key);
      if (keyBytes === undefined) {
        unencodable(`Map key ${JSON.stringify(key)} is not a latin1 byte string (chars above U+00FF)`, path);
      }
      entries.push([keyBytes, key, item]);
    }
    writeDict(out, entries, path);
  } else if (typeof value === "object" && value !== null && isPlainObject(value)) {
    const entries: Entry[] = [];
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item !== undefined) entries.push([utf8.encode(key), key, item]);
    }
    writeDict(out, entries, path);
  } else {
    unencodable(`unsupported type ${value === null ? "null" : typeof value}`, path);
  }
}

/**
 * Encodes a value canonically: dict keys sorted by their raw bytes, integers in shortest form.
 *
 * Map keys are latin1 byte strings (as `decode` produces them), so decoded dicts round-trip
 * byte for byte. Plain-object keys and JS strings are written as UTF-8, which is what a
 * hand-written `{ "name.utf-8": "Ünïcode" }` means. Throws DecodeError UNENCODABLE for values
 * bencode cannot hold (fractions, unsafe numbers, null, booleans, cycles).
 */
export function encode(value: Encodable): Uint8Array {
  const out = new ByteWriter();
  writeValue(out, value, []);
  return out.result();
}
