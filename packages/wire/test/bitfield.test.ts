import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Bitfield, MAX_PIECE_COUNT, WireError } from "@shoal/wire";
import { thrown } from "./decode-helpers.js";

describe("Bitfield", () => {
  it("puts piece 0 in the high bit of the first byte", () => {
    const bits = new Bitfield(10);
    bits.set(0);
    bits.set(9);
    expect(Buffer.from(bits.toBytes()).toString("hex")).toBe("8040");
    expect([...bits.indices()]).toEqual([0, 9]);
  });

  it("copies the bytes it is built from and the bytes it returns", () => {
    const source = Uint8Array.from([0xff, 0x80]);
    const bits = new Bitfield(9, source);
    source.fill(0);
    expect(bits.count()).toBe(9);
    const out = bits.toBytes();
    out.fill(0);
    expect(bits.has(8)).toBe(true);
  });

  it("rejects bytes of the wrong length with BAD_BITFIELD", () => {
    const err = thrown(() => new Bitfield(17, new Uint8Array(2))) as WireError;
    expect(err).toBeInstanceOf(WireError);
    expect(err.code).toBe("BAD_BITFIELD");
    expect(err.message).toBe("bitfield length 2 does not match 17 pieces (expected 3)");
  });

  it("rejects a spare bit set past the last piece", () => {
    expect((thrown(() => new Bitfield(9, Uint8Array.from([0, 0x40]))) as WireError).code).toBe("BAD_BITFIELD");
    expect(() => new Bitfield(9, Uint8Array.from([0, 0x80]))).not.toThrow();
  });

  it("refuses piece counts outside 0..MAX_PIECE_COUNT and out-of-range indices", () => {
    expect((thrown(() => new Bitfield(-1)) as WireError).code).toBe("INVALID_ARGUMENT");
    expect(() => new Bitfield(MAX_PIECE_COUNT + 1)).toThrow(WireError);
    expect(() => new Bitfield(2.5)).toThrow(WireError);
    const bits = new Bitfield(8);
    for (const index of [-1, 8, 1.5, Number.NaN]) {
      expect((thrown(() => bits.has(index)) as WireError).code).toBe("INDEX_OUT_OF_RANGE");
      expect(() => bits.set(index)).toThrow(WireError);
      expect(() => bits.clear(index)).toThrow(WireError);
    }
  });

  it("sets every piece but no spare bit with setAll", () => {
    const bits = new Bitfield(13);
    bits.setAll();
    expect(bits.isComplete()).toBe(true);
    expect(bits.count()).toBe(13);
    expect(Buffer.from(bits.toBytes()).toString("hex")).toBe("fff8");
    expect(() => new Bitfield(13, bits.toBytes())).not.toThrow();
  });

  it("handles a torrent with zero pieces and one with a whole number of bytes", () => {
    const empty = new Bitfield(0, new Uint8Array(0));
    expect(empty.isComplete()).toBe(true);
    expect([...empty.indices()]).toEqual([]);
    const full = new Bitfield(16, Uint8Array.from([0xff, 0xff]));
    expect(full.isComplete()).toBe(true);
  });

  it("keeps count equal to the number of set indices through any set/clear sequence", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: n - 1 })), { maxLength: 300 }),
          ),
        ),
        ([n, ops]) => {
          const bits = new Bitfield(n);
          const model = new Set<number>();
          for (const [set, index] of ops) {
            if (set) {
              bits.set(index);
              model.add(index);
            } else {
              bits.clear(index);
              model.delete(index);
            }
          }
          expect(bits.count()).toBe(model.size);
          expect(bits.isComplete()).toBe(model.size === n);
          expect([...bits.indices()]).toEqual([...model].sort((a, b) => a - b));
          for (let i = 0; i < n; i++) expect(bits.has(i)).toBe(model.has(i));
          const copy = new Bitfield(n, bits.toBytes());
          expect(copy.count()).toBe(model.size);
        },
      ),
    );
  });
});
