/** 160-bit node ids and info hashes, and the XOR metric of BEP 5. */

export const ID_BYTES = 20;

/** a XOR b, as bytes. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Negative when `a` is closer to `target` than `b`, positive when farther, 0 when as close. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

/**
 * The number of leading bits `a` and `b` share (160 when equal). The routing table keeps one
 * bucket per shared-prefix length with its own id.
 */
export function sharedPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BYTES * 8;
}

export function idEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function idHex(id: Uint8Array): string {
  return Buffer.from(id).toString("hex");
}

/**
 * An id that shares exactly `prefixBits` leading bits with `self` (then differs at the next
 * bit), the rest from `random`: a target that refreshes bucket `prefixBits`.
 */
export function idInBucket(self: Uint8Array, prefixBits: number, random: Uint8Array): Uint8Array {
  const out = Uint8Array.from(random.subarray(0, ID_BYTES));
  const full = Math.floor(prefixBits / 8);
  for (let i = 0; i < full; i++) out[i] = self[i]!;
  if (full < ID_BYTES) {
    const bit = prefixBits % 8;
    const keep = bit === 0 ? 0 : (0xff << (8 - bit)) & 0xff;
    const flip = 0x80 >> bit;
    let b = (self[full]! & keep) | (out[full]! & ~keep & 0xff);
    b = (b & ~flip) | (~self[full]! & flip);
    out[full] = b & 0xff;
  }
  return out;
}
