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
    // Locals rather than fields in the loop, and four bytes per iteration: the keystream is
    // serial, but unrolling lets V8 schedule the four xors and stores together: 388-426 against
    // 276-310 MB per CPU second for the one-byte loop, alternating in one process (BENCHMARKS.md).
    const s = this.s;
    let i = this.i;
    let j = this.j;
    const n = src.length;
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      i = (i + 1) & 0xff;
      let a = s[i]!;
      j = (j + a) & 0xff;
      let b = s[j]!;
      s[i] = b;
      s[j] = a;
      const k0 = s[(a + b) & 0xff]!;
      i = (i + 1) & 0xff;
      a = s[i]!;
      j = (j + a) & 0xff;
      b = s[j]!;
      s[i] = b;
      s[j] = a;
      const k1 = s[(a + b) & 0xff]!;
      i = (i + 1) & 0xff;
      a = s[i]!;
      j = (j + a) & 0xff;
      b = s[j]!;
      s[i] = b;
      s[j] = a;
      const k2 = s[(a + b) & 0xff]!;
      i = (i + 1) & 0xff;
      a = s[i]!;
      j = (j + a) & 0xff;
      b = s[j]!;
      s[i] = b;
      s[j] = a;
      const k3 = s[(a + b) & 0xff]!;
      dst[k] = src[k]! ^ k0;
      dst[k + 1] = src[k + 1]! ^ k1;
      dst[k + 2] = src[k + 2]! ^ k2;
      dst[k + 3] = src[k + 3]! ^ k3;
    }
    for (; k < n; k++) {
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
