import { WireError } from "./wire-error.js";

/**
 * Big-endian uint32 access by hand: these run once or more per message on the download hot
 * path, and plain index arithmetic avoids the argument checks of `Buffer#readUInt32BE`.
 * The caller guarantees `offset + 4 <= bytes.length`.
 */
export function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0
  );
}

/** Typed-array stores truncate to the low 8 bits, so no masking is needed. */
export function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

/** True for integers from 0 to 2^32-1; false for negatives, fractions, NaN and non-numbers. */
export function isUint32(value: unknown): value is number {
  return typeof value === "number" && value >>> 0 === value;
}

/** Throws INVALID_ARGUMENT naming the message and field when `value` is not a uint32. */
export function assertUint32(value: number, message: string, field: string): void {
  if (!isUint32(value)) {
    throw new WireError("INVALID_ARGUMENT", `${message} ${field} ${String(value)} is not a uint32`, {
      context: { message, field, value: String(value) },
    });
  }
}
