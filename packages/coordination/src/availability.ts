import { CoordinationError } from "./errors.js";

/**
 * The largest count an availability vector holds: counts are unsigned 16-bit, and sums over
 * workers stop here instead of wrapping. Rarest first only compares small counts; a piece that
 * 65535 connections have is as common as one that more have.
 */
export const MAX_AVAILABILITY = 0xffff;

/** Whether this machine stores a Uint16Array little-endian (every platform Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Adds `counts` into `into`, piece by piece, saturating at MAX_AVAILABILITY. */
export function addAvailability(into: Uint16Array, counts: ArrayLike<number>): void {
  const n = Math.min(into.length, counts.length);
  for (let i = 0; i < n; i++) {
    const s = into[i]! + counts[i]!;
    into[i] = s > MAX_AVAILABILITY ? MAX_AVAILABILITY : s;
  }
}

/**
 * A vector as stored and sent: two bytes per piece, little-endian. On a little-endian machine
 * (all of them in practice) this is a view of the same memory, so a 100k-piece vector costs no
 * copy; the caller must not change `counts` until the bytes are sent.
 */
export function availabilityBytes(counts: Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(counts.buffer, counts.byteOffset, counts.byteLength);
  const out = new Uint8Array(counts.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < counts.length; i++) view.setUint16(i * 2, counts[i]!, true);
  return out;
}

/**
 * Adds a vector in its byte form (`availabilityBytes`) into `into`, saturating. Bytes past
 * `into.length` pieces are ignored; the caller checks lengths.
 */
export function addAvailabilityBytes(into: Uint16Array, bytes: Uint8Array): void {
  const n = Math.min(into.length, bytes.length >> 1);
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    addAvailability(into, new Uint16Array(bytes.buffer, bytes.byteOffset, n));
    return;
  }
  // Bytes from a socket often start at an odd offset of a shared buffer: read them one by one.
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    const s = into[i]! + view.getUint16(i * 2, true);
    into[i] = s > MAX_AVAILABILITY ? MAX_AVAILABILITY : s;
  }
}

/** The error both claim tables throw for a vector whose length is not the torrent's piece count. */
export function availabilityLengthError(infoHash: string, workerId: string, length: number, pieceCount: number): CoordinationError {
  return new CoordinationError(
    "LENGTH_MISMATCH",
    `availability vector of worker ${workerId} has ${length} counts, but torrent ${infoHash} has ${pieceCount} pieces`,
    { context: { infoHash, workerId, length, pieceCount } },
  );
}
