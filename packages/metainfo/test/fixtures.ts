import { createHash } from "node:crypto";
import { expect } from "vitest";
import { encode } from "@shoal/bencode";
import type { Encodable } from "@shoal/bencode";
import { seededBytes } from "@shoal/testkit";
import { MetainfoError } from "../src/index.js";
import type { MetainfoErrorCode } from "../src/index.js";

export const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

export function sha1(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(data).digest());
}

export function hex(data: Uint8Array): string {
  return Buffer.from(data).toString("hex");
}

/** Deterministic pseudo-random bytes, so fixtures are the same on every run. */
export function payload(length: number, seed = 1): Uint8Array {
  return seededBytes(seed)(length);
}

/** The v1 `pieces` field for a byte stream. */
export function piecesOf(data: Uint8Array, pieceLength: number): Uint8Array {
  const count = Math.ceil(data.length / pieceLength);
  const out = new Uint8Array(count * 20);
  for (let i = 0; i < count; i++) out.set(sha1(data.subarray(i * pieceLength, (i + 1) * pieceLength)), i * 20);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A dict with its entries written in exactly the given order (possibly unsorted or repeated). */
export function rawDict(entries: Array<[key: string, value: Encodable]>): Uint8Array {
  return concat(ascii("d"), ...entries.flatMap(([key, value]) => [encode(key), encode(value)]), ascii("e"));
}

/** Like `rawDict`, with values given as already-encoded bytes. */
export function rawDictOf(entries: Array<[key: string, encodedValue: Uint8Array]>): Uint8Array {
  return concat(ascii("d"), ...entries.flatMap(([key, value]) => [encode(key), value]), ascii("e"));
}

export const PIECE_LENGTH = 16;
export const SINGLE_DATA = payload(40, 7);

/** A canonical single-file info dict over SINGLE_DATA (3 pieces: 16 + 16 + 8 bytes). */
export function singleInfo(overrides: Record<string, Encodable | undefined> = {}): Record<string, Encodable | undefined> {
  return {
    length: SINGLE_DATA.length,
    name: "single.bin",
    "piece length": PIECE_LENGTH,
    pieces: piecesOf(SINGLE_DATA, PIECE_LENGTH),
    ...overrides,
  };
}

export const MULTI_FILES = [
  { path: ["a.txt"], data: payload(10, 2) },
  { path: ["dir", "empty"], data: new Uint8Array(0) },
  { path: ["dir", "b.bin"], data: payload(25, 3) },
  { path: ["c"], data: payload(7, 4) },
];
export const MULTI_DATA = concat(...MULTI_FILES.map((f) => f.data));

/** A canonical multi-file info dict over MULTI_FILES (42 bytes, 3 pieces). */
export function multiInfo(overrides: Record<string, Encodable | undefined> = {}): Record<string, Encodable | undefined> {
  return {
    files: MULTI_FILES.map((f) => ({ length: f.data.length, path: f.path })),
    name: "multi",
    "piece length": PIECE_LENGTH,
    pieces: piecesOf(MULTI_DATA, PIECE_LENGTH),
    ...overrides,
  };
}

export function torrent(info: Encodable, outer: Record<string, Encodable | undefined> = {}): Uint8Array {
  return encode({ announce: "http://tracker.test/announce", info, ...outer });
}

/** Runs `fn`, asserts a MetainfoError with `code` (and message text when given), returns it. */
export function expectMetainfoError(fn: () => unknown, code: MetainfoErrorCode, message?: string): MetainfoError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected MetainfoError ${code}`).toBeInstanceOf(MetainfoError);
  const err = caught as MetainfoError;
  expect(err.code, err.message).toBe(code);
  if (message !== undefined) expect(err.message).toContain(message);
  return err;
}
