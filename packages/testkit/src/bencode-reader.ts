import { TestkitError } from "./testkit-error.js";

/**
 * A small bencode reader for inputs the testkit itself produced or asked for: .torrent files
 * written by mktorrent or libtorrent, and opentracker's announce answers. It is not the
 * hardened decoder of the downloader; it still refuses malformed input instead of guessing,
 * and remembers the raw byte span of every dictionary value so info hashes are taken from the
 * bytes as written.
 */
export type BValue = bigint | Buffer | BValue[] | BDict;

export interface BDict {
  readonly entries: Map<string, BValue>;
  /** Raw [start, end) offsets of each value, keyed like `entries`. */
  readonly spans: Map<string, readonly [number, number]>;
}

/** Deep enough for any torrent or tracker answer; deeper input is refused, not recursed into. */
const MAX_DEPTH = 64;

export function decodeBencode(buf: Buffer, source: string): BValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new TestkitError("BAD_INPUT", `bencode ${what} at offset ${pos} of ${source}`, {
      context: { source, offset: pos },
    });
  };

  const readInt = (end: number): bigint => {
    const text = buf.toString("latin1", pos, end);
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail(`bad integer "${text}"`);
    pos = end + 1;
    return BigInt(text);
  };

  const value = (depth: number): BValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    const c = buf[pos];
    if (c === undefined) return fail("unexpected end");
    if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65, pos + 1);
      if (end < 0) fail("unterminated integer");
      pos += 1;
      return readInt(end);
    }
    if (c >= 0x30 && c <= 0x39) {
      const colon = buf.indexOf(0x3a, pos);
      if (colon < 0) fail("string without ':'");
      const len = Number(readInt(colon));
      const start = pos;
      if (start + len > buf.length) fail(`string of ${len} bytes past the end`);
      pos = start + len;
      return buf.subarray(start, pos);
    }
    if (c === 0x6c /* l */) {
      pos += 1;
      const list: BValue[] = [];
      while (buf[pos] !== 0x65) list.push(value(depth + 1));
      pos += 1;
      return list;
    }
    if (c === 0x64 /* d */) {
      pos += 1;
      const dict: BDict = { entries: new Map(), spans: new Map() };
      while (buf[pos] !== 0x65) {
        const key = value(depth + 1);
        if (!Buffer.isBuffer(key)) return fail("dictionary key that is not a string");
        const name = key.toString("utf8");
        if (dict.entries.has(name)) fail(`duplicate key "${name}"`);
        const start = pos;
        dict.entries.set(name, value(depth + 1));
        dict.spans.set(name, [start, pos]);
      }
      pos += 1;
      return dict;
    }
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };

  const result = value(0);
  if (pos !== buf.length) fail(`${buf.length - pos} trailing bytes`);
  return result;
}

export function isDict(v: BValue | undefined): v is BDict {
  return v !== undefined && !Buffer.isBuffer(v) && !Array.isArray(v) && typeof v === "object";
}
