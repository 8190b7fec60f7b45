import { expect } from "vitest";
import { DecodeError } from "../src/index.js";
import type { DecodeErrorCode } from "../src/index.js";

export const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
export const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** Runs `fn`, asserts it throws a DecodeError with `code`, and returns the error. */
export function expectDecodeError(fn: () => unknown, code: DecodeErrorCode): DecodeError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected DecodeError ${code}`).toBeInstanceOf(DecodeError);
  const err = caught as DecodeError;
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Byte equality without vitest's element-by-element diffing, which is slow for megabytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
