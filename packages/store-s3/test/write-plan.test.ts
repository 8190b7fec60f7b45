import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StorageError, type LayoutFile, type TorrentLayout } from "@shoal/coordination";
import { S3_LIMITS, partTarget, piecesOfUnit, planWrites, unitsOfPiece, type PlanOptions, type S3Limits, type WritePlan } from "../src/write-plan.js";

const MIB = 1024 * 1024;

interface FileSpec {
  readonly length: number;
  readonly padding: boolean;
  readonly skipped: boolean;
}

function layoutOf(specs: readonly FileSpec[], pieceLength: number): TorrentLayout {
  let offset = 0;
  const files: LayoutFile[] = specs.map((s, i) => {
    const f = { path: [`f${i}`], length: s.length, offset, padding: s.padding, skipped: s.skipped };
    offset += s.length;
    return f;
  });
  return { infoHash: "ab".repeat(20), name: "t", pieceLength, totalLength: offset, files };
}

/**
 * S3's limits scaled down by about a million, so a few hundred bytes cross every rule: parts
 * over the minimum, the part count cap, the largest part and the largest object.
 */
const limitsArb: fc.Arbitrary<S3Limits> = fc
  .record({ minPartBytes: fc.integer({ min: 1, max: 40 }), maxParts: fc.integer({ min: 1, max: 12 }), extra: fc.integer({ min: 0, max: 60 }) })
  .map(({ minPartBytes, maxParts, extra }) => {
    const maxPartBytes = minPartBytes + extra;
    return { minPartBytes, maxParts, maxPartBytes, maxObjectBytes: maxParts * maxPartBytes };
  });

const caseArb = limitsArb.chain((limits) =>
  fc.record({
    limits: fc.constant(limits),
    pieceLength: fc.integer({ min: 1, max: 50 }),
    files: fc.array(
      fc.record({
        length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: limits.maxObjectBytes })),
        padding: fc.boolean(),
        skipped: fc.boolean(),
      }),
      { minLength: 1, maxLength: 8 },
    ),
    partBytes: fc.integer({ min: limits.minPartBytes, max: limits.maxPartBytes }),
    smallObjectBytes: fc.integer({ min: limits.minPartBytes, max: limits.maxPartBytes }),
  }),
);

function plan(c: { limits: S3Limits; pieceLength: number; files: FileSpec[]; partBytes: number; smallObjectBytes: number }): { layout: TorrentLayout; plan: WritePlan; options: PlanOptions } {
  const layout = layoutOf(c.files, c.pieceLength);
  const options = { partBytes: c.partBytes, smallObjectBytes: c.smallObjectBytes, limits: c.limits };
  return { layout, plan: planWrites(layout, options), options };
}

describe("planWrites", () => {
  it("covers every byte of every selected file exactly once, and nothing else", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { layout, plan: p } = plan(c);
        const selected = layout.files.map((f, i) => ({ f, i })).filter(({ f }) => !f.padding && !f.skipped);
        expect(p.objects.map((o) => o.fileIndex)).toEqual(selected.map(({ i }) => i));
        for (const o of p.objects) {
          const file = layout.files[o.fileIndex]!;
          expect(o.length).toBe(file.length);
          if (file.length === 0) {
            expect(o.kind).toBe("empty");
            expect(o.units).toEqual([]);
            continue;
          }
          // The object's units tile the file: from its first byte to its last, no gap, no overlap.
          let pos = file.offset;
          for (const [k, ui] of o.units.entries()) {
            const u = p.units[ui]!;
            expect(u.object).toBe(o.index);
            expect(u.partNumber).toBe(k + 1);
            expect(u.start).toBe(pos);
            expect(u.fileOffset).toBe(pos - file.offset);
            expect(u.length).toBeGreaterThan(0);
            pos += u.length;
          }
          expect(pos).toBe(file.offset + file.length);
        }
        // Units are listed in stream order with their own index.
        for (const [i, u] of p.units.entries()) {
          expect(u.index).toBe(i);
          if (i > 0) expect(u.start).toBeGreaterThanOrEqual(p.units[i - 1]!.start + p.units[i - 1]!.length);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("obeys S3's rules on objects, part sizes and part counts", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { plan: p } = plan(c);
        const target = (length: number) => partTarget(length, c.partBytes, c.limits);
        for (const o of p.objects) {
          const parts = o.units.map((ui) => p.units[ui]!);
          if (o.kind === "single") {
            expect(parts).toHaveLength(1);
            expect(parts[0]!.length).toBeLessThanOrEqual(c.limits.maxPartBytes);
          }
          if (o.kind === "multipart") {
            expect(parts.length).toBeGreaterThanOrEqual(2);
            expect(parts.length).toBeLessThanOrEqual(c.limits.maxParts);
            expect(o.length).toBeGreaterThanOrEqual(c.smallObjectBytes);
            for (const [k, u] of parts.entries()) {
              expect(u.length).toBeLessThanOrEqual(c.limits.maxPartBytes);
              if (k < parts.length - 1) {
                expect(u.length).toBeGreaterThanOrEqual(Math.max(c.limits.minPartBytes, c.partBytes));
                // Cut on a piece boundary, unless a whole piece more would pass the largest part.
                const end = u.start + u.length;
                expect(end % c.pieceLength === 0 || u.length === c.limits.maxPartBytes).toBe(true);
                // Greedy: never a whole piece longer than the target needs.
                expect(u.length).toBeLessThan(target(o.length) + c.pieceLength);
              }
            }
          }
          // Small files are always one PUT.
          if (o.length > 0 && o.length < c.smallObjectBytes) expect(o.kind).toBe("single");
        }
      }),
      { numRuns: 400 },
    );
  });

  it("maps pieces to units and units to pieces consistently", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { layout, plan: p } = plan(c);
        const L = c.pieceLength;
        const holders = new Map<number, Set<number>>();
        for (let piece = 0; piece < p.pieceCount; piece++) {
          const us = unitsOfPiece(p, piece, layout.totalLength);
          const start = piece * L;
          const end = Math.min(start + L, layout.totalLength);
          // Exactly the units whose bytes intersect the piece, in stream order.
          const brute = p.units.filter((u) => u.start < end && u.start + u.length > start).map((u) => u.index);
          expect(us).toEqual(brute);
          for (const ui of us) {
            const { first, last } = piecesOfUnit(p, p.units[ui]!);
            expect(piece).toBeGreaterThanOrEqual(first);
            expect(piece).toBeLessThanOrEqual(last);
            holders.set(ui, (holders.get(ui) ?? new Set()).add(piece));
          }
        }
        // Every piece a unit names holds bytes of it, and together they cover the unit.
        for (const u of p.units) {
          const { first, last } = piecesOfUnit(p, u);
          expect([...(holders.get(u.index) ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: last - first + 1 }, (_, k) => first + k));
          expect(first * L).toBeLessThanOrEqual(u.start);
          expect(Math.min((last + 1) * L, layout.totalLength)).toBeGreaterThanOrEqual(u.start + u.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a file over the largest object and options outside S3's limits", () => {
    const layout = layoutOf([{ length: 6 * 1024 * 1024 * MIB, padding: false, skipped: false }], 16 * MIB);
    expect(() => planWrites(layout, { partBytes: 16 * MIB, smallObjectBytes: 5 * MIB })).toThrow(StorageError);
    const ok = layoutOf([{ length: 10, padding: false, skipped: false }], 4);
    expect(() => planWrites(ok, { partBytes: 4 * MIB, smallObjectBytes: 5 * MIB })).toThrow(/part size/);
    expect(() => planWrites(ok, { partBytes: 16 * MIB, smallObjectBytes: MIB })).toThrow(/small-object threshold/);
    const gap = { ...ok, files: [{ ...ok.files[0]!, offset: 3 }] };
    expect(() => planWrites(gap, { partBytes: 16 * MIB, smallObjectBytes: 5 * MIB })).toThrow(/does not follow/);
  });

  it("raises the part size of a huge file to stay within 10,000 parts", () => {
    // 1 TiB with 16 MiB pieces: 16 MiB parts would need 65,536 of them.
    const layout = layoutOf([{ length: 1024 * 1024 * MIB, padding: false, skipped: false }], 16 * MIB);
    const p = planWrites(layout, { partBytes: 16 * MIB, smallObjectBytes: 5 * MIB });
    const parts = p.objects[0]!.units.map((ui) => p.units[ui]!);
    expect(parts.length).toBeLessThanOrEqual(S3_LIMITS.maxParts);
    expect(parts.length).toBeGreaterThan(S3_LIMITS.maxParts * 0.9);
    for (const u of parts.slice(0, -1)) expect((u.start + u.length) % (16 * MIB)).toBe(0);
  });

  it("cuts a real layout on piece boundaries, with a mid-piece first and last part", () => {
    // 1 MiB pieces; a 3.5 MiB file, then a 20.25 MiB file starting mid-piece, then 0.25 MiB.
    const layout = layoutOf(
      [
        { length: 3.5 * MIB, padding: false, skipped: false },
        { length: 20.25 * MIB, padding: false, skipped: false },
        { length: 0.25 * MIB, padding: false, skipped: false },
      ],
      MIB,
    );
    const p = planWrites(layout, { partBytes: 5 * MIB, smallObjectBytes: 5 * MIB });
    expect(p.objects.map((o) => o.kind)).toEqual(["single", "multipart", "single"]);
    const parts = p.objects[1]!.units.map((ui) => p.units[ui]!);
    // From 3.5 MiB: first cut at the first boundary >= 8.5 MiB, then every 5 MiB, the rest last.
    expect(parts.map((u) => [u.start / MIB, (u.start + u.length) / MIB])).toEqual([
      [3.5, 9],
      [9, 14],
      [14, 19],
      [19, 23.75],
    ]);
    // Piece 3 straddles the small first file and the first part; piece 23 the last part and the third file.
    expect(unitsOfPiece(p, 3, layout.totalLength)).toEqual([0, 1]);
    expect(unitsOfPiece(p, 23, layout.totalLength)).toEqual([4, 5]);
  });
});
