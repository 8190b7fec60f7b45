/**
 * RC4, the stream cipher of BitTorrent's Message Stream Encryption. Node 20's OpenSSL 3 keeps RC4
 * in its legacy provider, which is not loaded by default (`createCipheriv("rc4", …)` fails with
 * "unsupported"), so the cipher is written here over a `Uint8Array` state.
 *
 * It is a stream: each call continues the keystream where the previous one stopped, so bytes must
 * go through in the order they are sent or received. `process` xors in place by default, which is
 * how the peer-worker decrypts its socket read buffer without a copy.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`RC4 key must be 1 to 256 bytes, got ${key.length}`);
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const t = s[k]!;
      j = (j + t + key[k % key.length]!) & 0xff;
      s[k] = s[j]!;
      s[j] = t;
    }
  }

  /**
   * Xors the next `src.length` keystream bytes into `src`, writing to `dst` (by default `src`
   * itself). `dst` may be `src` or a separate buffer at least as long; partial overlap is not
   * supported.
   */
  process(src: Uint8Array, dst: Uint8Array = src): void {
    // Locals rather than fields in the loop: V8 keeps them in registers (about 3x faster).
    const s = this.s;
    let i = this.i;
    let j = this.j;
    const n = src.length;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff;
      const a = s[i]!;
      j = (j + a) & 0xff;
      const b = s[j]!;
      s[i] = b;
      s[j] = a;
      dst[k] = src[k]! ^ s[(a + b) & 0xff]!;
    }
    this.i = i;
    this.j = j;
  }

  /** Advances the keystream by `n` bytes without using them (MSE discards the first 1024). */
  skip(n: number): void {
    const scratch = new Uint8Array(Math.min(n, 4096));
    for (let left = n; left > 0; left -= scratch.length) this.process(scratch.subarray(0, Math.min(left, scratch.length)));
  }

  /** The next `n` keystream bytes (the encryption of `n` zero bytes). */
  keystream(n: number): Uint8Array {
    const out = new Uint8Array(n);
    this.process(out);
    return out;
  }
}
