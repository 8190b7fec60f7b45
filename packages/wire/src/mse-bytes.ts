// Byte helpers of the MSE handshake over plain Uint8Arrays (the machine never needs a Buffer).

/** First index of `pattern` in `hay` at or below `maxStart`, or -1. */
export function indexOf(hay: Uint8Array, pattern: Uint8Array, maxStart: number): number {
  const last = Math.min(hay.length - pattern.length, maxStart);
  outer: for (let s = 0; s <= last; s++) {
    for (let k = 0; k < pattern.length; k++) if (hay[s + k] !== pattern[k]) continue outer;
    return s;
  }
  return -1;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function readUint32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function readUint16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function writeUint32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

export function writeUint16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}
