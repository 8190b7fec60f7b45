import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { lendHeadroom } from "@shoal/coordination";
import { decodePayload, encodePayload } from "../src/index.js";

const PIECE_BYTES = 1024 * 1024;
const ROOM_BYTES = 1024;

/** A deterministic byte pattern, so a shifted or truncated piece shows. */
function pattern(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A piece as the peer-worker's pool holds it: a view `room` bytes into memory of its own, optionally lent. */
function held(bytes: Uint8Array, room: number, lend = true): Uint8Array {
  const view = new Uint8Array(new SharedArrayBuffer(room + bytes.byteLength), room, bytes.byteLength);
  view.set(bytes);
  if (lend) lendHeadroom(view, room);
  return view;
}

const staged = (data: Uint8Array, peers = ["10.0.0.1:6881", "[2001:db8::1]:51413"]) => ({
  infoHash: "ab".repeat(20),
  piece: 1234,
  attempt: 2,
  workerId: "worker-0123abcd",
  peers,
  data,
});

// Identity is compared with === where it must differ: `not.toBe` deep-compares the two
// objects to explain itself, seconds for a MiB of bytes.
const inPlace = (payload: unknown) => encodePayload(payload, { intoHeadroom: true });
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("bus payload codec in lent headroom", () => {
  it("builds the body in front of the piece, byte for byte the copy's, and it decodes to the exact piece", () => {
    const piece = pattern(PIECE_BYTES);
    const view = held(piece, ROOM_BYTES);
    const payload = staged(view);
    const copied = encodePayload(payload, { intoHeadroom: false });
    const body = inPlace(payload);
    expect(copied.buffer === view.buffer).toBe(false);
    expect(body.buffer).toBe(view.buffer);
    expect(body.byteOffset + body.byteLength).toBe(view.byteOffset + view.byteLength);
    expect(body.byteLength).toBe(copied.byteLength);
    expect(same(body, copied)).toBe(true);
    const back = decodePayload(body) as typeof payload;
    expect(same(back.data, piece)).toBe(true);
    expect({ ...back, data: undefined }).toEqual({ ...payload, data: undefined });
    // The piece itself is untouched.
    expect(same(view, piece)).toBe(true);
  });

  it("copies unless asked to build in headroom", () => {
    const view = held(pattern(4096), ROOM_BYTES);
    expect(encodePayload(staged(view)).buffer === view.buffer).toBe(false);
  });

  it("uses the room only when header and separator fit in it, and copies otherwise", () => {
    const piece = pattern(4096);
    const head = JSON.stringify({ ...staged(piece), data: { $bin: [0, piece.byteLength] } });
    const fits = held(piece, head.length + 1);
    const short = held(piece, head.length);
    expect(inPlace(staged(fits)).buffer).toBe(fits.buffer);
    const copied = inPlace(staged(short));
    expect(copied.buffer === short.buffer).toBe(false);
    expect(same(copied, inPlace(staged(fits)))).toBe(true);
    // Nothing was written into the room that was too small.
    expect(new Uint8Array(short.buffer, 0, short.byteOffset).every((b) => b === 0)).toBe(true);
  });

  it("copies a view nobody lent room for, and an equal view of lent memory (a loan is for its view object)", () => {
    const lent = held(pattern(4096), ROOM_BYTES);
    const unlent = held(pattern(4096), ROOM_BYTES, false);
    const alias = new Uint8Array(lent.buffer, lent.byteOffset, lent.byteLength);
    expect(inPlace(staged(unlent)).buffer === unlent.buffer).toBe(false);
    expect(inPlace(staged(alias)).buffer === lent.buffer).toBe(false);
  });

  it("copies a payload with more than one byte field", () => {
    const a = held(pattern(4096, 1), ROOM_BYTES);
    const b = held(pattern(100, 2), ROOM_BYTES);
    const payload = { ...staged(a), extra: b };
    const body = inPlace(payload);
    expect(body.buffer === a.buffer).toBe(false);
    expect(body.buffer === b.buffer).toBe(false);
    expect(same(body, encodePayload(payload))).toBe(true);
  });

  it("writes a loan's room with one header: the same payload again in place, another header copied until the next loan", () => {
    const view = held(pattern(4096), ROOM_BYTES);
    const first = inPlace(staged(view));
    const snapshot = Uint8Array.from(first);
    // A retry of the same message: built in place again, identical bytes where an earlier try may be queued.
    expect(inPlace(staged(view)).buffer).toBe(view.buffer);
    const other = inPlace(staged(view, ["10.9.9.9:1"]));
    expect(other.buffer === view.buffer).toBe(false);
    expect(same(first, snapshot)).toBe(true);
    // The next holder of the memory (the pool lends it anew) writes a header of its own.
    lendHeadroom(view, ROOM_BYTES);
    const next = inPlace(staged(view, ["10.9.9.9:1"]));
    expect(next.buffer).toBe(view.buffer);
    expect(same(next, encodePayload(staged(view, ["10.9.9.9:1"])))).toBe(true);
  });

  it("leaves the memory in front of the header as it was", () => {
    const view = held(pattern(4096), ROOM_BYTES);
    const front = new Uint8Array(view.buffer, 0, ROOM_BYTES);
    front.fill(0xee);
    const body = inPlace(staged(view));
    expect(front.subarray(0, ROOM_BYTES - (body.byteLength - view.byteLength)).every((b) => b === 0xee)).toBe(true);
  });

  it("refuses a loan of room the memory does not have", () => {
    const view = held(pattern(16), 8, false);
    expect(() => lendHeadroom(view, 9)).toThrow(RangeError);
    expect(() => lendHeadroom(view, -1)).toThrow(RangeError);
    expect(() => lendHeadroom(view, 1.5)).toThrow(RangeError);
    expect(() => lendHeadroom(view, 8)).not.toThrow();
  });

  it("gives the copy's bytes for any payload with one lent byte field (property)", () => {
    const field = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.array(fc.string({ maxLength: 30 }), { maxLength: 40 }));
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("infoHash", "piece", "peers", "workerId", "x", "é"), field, { maxKeys: 5 }),
        fc.uint8Array({ maxLength: 256 }),
        fc.integer({ min: 0, max: 1500 }),
        (rest, bytes, room) => {
          const view = held(bytes, room);
          const payload = { ...rest, data: view };
          const body = inPlace(payload);
          expect(same(body, encodePayload(payload))).toBe(true);
          expect(same((decodePayload(body) as { data: Uint8Array }).data, bytes)).toBe(true);
        },
      ),
    );
  });
});
