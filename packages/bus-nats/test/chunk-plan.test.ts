import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CoordinationError } from "@shoal/coordination";
import { ChunkAssembly, chunkHeaderValue, chunkRange, parseChunkHeader, readChunkRef, type ChunkRef } from "../src/chunk-plan.js";

const ID = "0123456789abcdef";
const OTHER_ID = "fedcba9876543210";

/** A field of `length` bytes cut in `chunkBytes` chunks, with each chunk's header and bytes. */
function cut(length: number, chunkBytes: number, id = ID) {
  const bytes = randomBytes(length);
  const count = Math.ceil(length / chunkBytes);
  const ref: ChunkRef = { id, length, chunkBytes, seqs: Array.from({ length: count }, (_, i) => 100 + i) };
  const chunks = Array.from({ length: count }, (_, index) => {
    const r = chunkRange(length, chunkBytes, index);
    return { index, header: chunkHeaderValue({ id, index, offset: r.offset, total: length }), data: bytes.subarray(r.offset, r.offset + r.length) };
  });
  return { bytes, ref, chunks };
}

describe("chunk reassembly", () => {
  it("puts a field back from chunks taken in any order, the last one short", () => {
    const { bytes, ref, chunks } = cut(10_000, 3_000);
    expect(chunks.map((c) => c.data.length)).toEqual([3_000, 3_000, 3_000, 1_000]);
    const a = new ChunkAssembly(ref);
    for (const c of [chunks[2]!, chunks[0]!, chunks[3]!]) expect(a.add(c.index, c.header, c.data)).toEqual({ ok: true, duplicate: false });
    expect(a.complete).toBe(false);
    expect(() => a.bytes()).toThrow(CoordinationError);
    expect(a.add(1, chunks[1]!.header, chunks[1]!.data).ok).toBe(true);
    expect(a.complete).toBe(true);
    expect(a.bytes().equals(bytes)).toBe(true);
  });

  it("takes a chunk that comes twice once, and refuses a second copy with other bytes", () => {
    const { bytes, ref, chunks } = cut(8_192, 4_096);
    const a = new ChunkAssembly(ref);
    expect(a.add(0, chunks[0]!.header, chunks[0]!.data)).toEqual({ ok: true, duplicate: false });
    expect(a.add(0, chunks[0]!.header, Buffer.from(chunks[0]!.data))).toEqual({ ok: true, duplicate: true });
    const tampered = Buffer.from(chunks[0]!.data);
    tampered[17] ^= 0xff;
    const v = a.add(0, chunks[0]!.header, tampered);
    expect(v.ok).toBe(false);
    expect(a.add(1, chunks[1]!.header, chunks[1]!.data).ok).toBe(true);
    expect(a.bytes().equals(bytes)).toBe(true);
  });

  it("refuses a chunk of the wrong size, at the wrong offset, of another length or fetched for another index", () => {
    const { ref, chunks } = cut(10_000, 3_000);
    const a = new ChunkAssembly(ref);
    const c1 = chunks[1]!;
    const refusals = [
      // Truncated, and one byte too many.
      a.add(1, c1.header, c1.data.subarray(0, 2_999)),
      a.add(1, c1.header, Buffer.concat([c1.data, Buffer.from([0])])),
      // The header puts it elsewhere, or in a field of another length.
      a.add(1, chunkHeaderValue({ id: ID, index: 1, offset: 2_999, total: 10_000 }), c1.data),
      a.add(1, chunkHeaderValue({ id: ID, index: 1, offset: 3_000, total: 10_001 }), c1.data),
      // Chunk 2's message where chunk 1 was expected (a sequence that points one further).
      a.add(1, chunks[2]!.header, chunks[2]!.data),
      // No header, a garbled one, an index out of range.
      a.add(1, undefined, c1.data),
      a.add(1, "not a chunk header", c1.data),
      a.add(4, chunkHeaderValue({ id: ID, index: 4, offset: 12_000, total: 10_000 }), c1.data),
    ];
    for (const v of refusals) expect(v.ok, JSON.stringify(v)).toBe(false);
    expect(a.complete).toBe(false);
  });

  it("keeps two attempts of one piece apart: chunks of the other message are refused, whatever their bytes", () => {
    const first = cut(6_000, 2_000, ID);
    const second = cut(6_000, 2_000, OTHER_ID);
    const a = new ChunkAssembly(first.ref);
    const b = new ChunkAssembly(second.ref);
    // Interleaved as two publishes of the same piece could be stored.
    for (let i = 0; i < 3; i++) {
      expect(a.add(i, second.chunks[i]!.header, second.chunks[i]!.data).ok).toBe(false);
      expect(a.add(i, first.chunks[i]!.header, first.chunks[i]!.data).ok).toBe(true);
      expect(b.add(i, first.chunks[i]!.header, first.chunks[i]!.data).ok).toBe(false);
      expect(b.add(i, second.chunks[i]!.header, second.chunks[i]!.data).ok).toBe(true);
    }
    expect(a.bytes().equals(first.bytes)).toBe(true);
    expect(b.bytes().equals(second.bytes)).toBe(true);
  });
});

describe("chunk references and headers", () => {
  it("reads a well-formed reference and refuses damaged ones with a reason", () => {
    const ok = { $chunks: { id: ID, length: 10, chunkBytes: 4, seqs: [1, 2, 3] } };
    expect(readChunkRef(ok)).toEqual(ok.$chunks);
    expect(readChunkRef({ some: "object" })).toBeUndefined();
    expect(readChunkRef(new Uint8Array(3))).toBeUndefined();
    const bad = [
      { $chunks: { ...ok.$chunks, seqs: [1, 2] } },
      { $chunks: { ...ok.$chunks, seqs: [1, 2, 0] } },
      { $chunks: { ...ok.$chunks, id: "../x" } },
      { $chunks: { ...ok.$chunks, length: 0, seqs: [] } },
      { $chunks: { ...ok.$chunks, chunkBytes: 0 } },
      { $chunks: { ...ok.$chunks, length: 2 ** 60 } },
      { $chunks: null },
      { $chunks: ok.$chunks, extra: 1 },
    ];
    for (const v of bad) expect(readChunkRef(v), JSON.stringify(v)).toHaveProperty("malformed");
  });

  it("parses only four well-formed header fields", () => {
    expect(parseChunkHeader(`${ID} 2 8 10`)).toEqual({ id: ID, index: 2, offset: 8, total: 10 });
    for (const v of [undefined, "", `${ID} 2 8`, `${ID} 2 8 10 1`, `${ID} -1 8 10`, `${ID} 1.5 8 10`, `XYZ 1 1 1`, `${ID} 1 1 99999999999999999`]) {
      expect(parseChunkHeader(v), String(v)).toBeUndefined();
    }
  });
});
