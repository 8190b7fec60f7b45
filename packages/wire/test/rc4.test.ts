import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Rc4 } from "@shoal/wire";

/** The textbook RC4 (KSA, then PRGA one byte at a time), written plainly as the reference. */
function referenceKeystream(key: number[], n: number): number[] {
  const s = Array.from({ length: 256 }, (_, i) => i);
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) % 256;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out: number[] = [];
  let i = 0;
  j = 0;
  for (let k = 0; k < n; k++) {
    i = (i + 1) % 256;
    j = (j + s[i]!) % 256;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out.push(s[(s[i]! + s[j]!) % 256]!);
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("Rc4", () => {
  it("matches the classic published vectors", () => {
    const enc = (key: string, text: string) => {
      const b = Buffer.from(text, "latin1");
      new Rc4(Buffer.from(key, "latin1")).process(b);
      return hex(b);
    };
    expect(enc("Key", "Plaintext")).toBe("bbf316e8d940af0ad3");
    expect(enc("Wiki", "pedia")).toBe("1021bf0420");
    expect(enc("Secret", "Attack at dawn")).toBe("45a01f645fc35b383552544b9bf5");
  });

  it("equals the reference keystream for any key, however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 8 }),
        (key, cuts) => {
          const total = cuts.reduce((a, b) => a + b, 0);
          const rc4 = new Rc4(key);
          const got: number[] = [];
          for (const n of cuts) got.push(...rc4.keystream(n));
          expect(got).toEqual(referenceKeystream([...key], total));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("decrypts what it encrypted, in place or into another buffer, and skip advances the keystream", () => {
    const key = Buffer.from("0123456789abcdef");
    const plain = Buffer.from("the same bytes back after two passes");
    const out = Buffer.alloc(plain.length);
    const a = new Rc4(key);
    a.skip(1024);
    a.process(plain, out);
    expect(out.equals(plain)).toBe(false);
    const b = new Rc4(key);
    b.skip(1024);
    b.process(out);
    expect(out.equals(plain)).toBe(true);
    expect(hex(new Rc4(key).keystream(1034).subarray(1024))).toBe(hex(Uint8Array.from(referenceKeystream([...key], 1034).slice(1024))));
  });

  it("refuses an empty key with a one-line error", () => {
    expect(() => new Rc4(new Uint8Array(0))).toThrow("RC4 key must be 1 to 256 bytes, got 0");
  });
});
