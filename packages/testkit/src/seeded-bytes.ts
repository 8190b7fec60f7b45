/**
 * Deterministic pseudo-random bytes from a 32-bit seed (xorshift32): the same seed gives the same
 * bytes in every run, so a failing case replays and a simulated network draws the same ids.
 * Not for payloads (`makePayload` is faster per byte) nor for anything secret.
 */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}
