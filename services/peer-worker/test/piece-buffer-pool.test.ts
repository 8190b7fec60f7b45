import { describe, expect, it } from "vitest";
import { encodePayload, decodePayload } from "@shoal/bus-nats";
import { headroomOf } from "@shoal/coordination";
import { headroomFor, PieceBufferPool } from "../src/piece-buffer-pool.js";

const MiB = 1024 * 1024;

// Identity is compared with === where it must differ: `not.toBe` deep-compares the two
// objects to explain itself, seconds for a MiB of bytes.
describe("PieceBufferPool", () => {
  it("hands out a shared-memory view with headroom in front, lent to the bus", () => {
    const pool = new PieceBufferPool(8 * MiB);
    const buf = pool.acquire(MiB);
    expect(buf.length).toBe(MiB);
    expect(buf.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(buf.byteOffset).toBe(headroomFor(MiB));
    expect(buf.buffer.byteLength).toBe(buf.byteOffset + MiB);
    expect(buf.byteOffset % 64).toBe(0);
    expect(headroomOf(buf)?.bytes).toBe(buf.byteOffset);
  });

  it("takes back its views, and another object over the same bytes, and lends them anew when handed out again", () => {
    const pool = new PieceBufferPool(8 * MiB);
    const a = pool.acquire(MiB);
    const firstLoan = headroomOf(a);
    pool.release(a);
    const again = pool.acquire(MiB);
    expect(again).toBe(a);
    expect(headroomOf(again) === firstLoan).toBe(false);
    // What RecentPieces evicts is rewrapped as a Buffer over the same bytes.
    pool.release(Buffer.from(again.buffer, again.byteOffset, again.byteLength));
    const third = pool.acquire(MiB);
    expect(third.buffer).toBe(a.buffer);
    expect(third.byteOffset).toBe(a.byteOffset);
    expect(headroomOf(third)?.bytes).toBe(a.byteOffset);
  });

  it("refuses views it did not hand out", () => {
    const pool = new PieceBufferPool(8 * MiB);
    const size = 256 * 1024;
    const room = headroomFor(size);
    const mine = pool.acquire(size);
    const foreign = [
      Buffer.alloc(size),
      Buffer.from(new SharedArrayBuffer(size)),
      // The same layout in memory the pool never made.
      Buffer.from(new SharedArrayBuffer(room + size), room, size),
      // Part of a piece, or a piece with its headroom.
      mine.subarray(0, size / 2),
      mine.subarray(size / 2),
      Buffer.from(mine.buffer, 0, room + size),
    ];
    for (const buf of foreign) pool.release(buf);
    const fresh = pool.acquire(size);
    expect(fresh.buffer === mine.buffer).toBe(false);
    for (const buf of foreign) expect(fresh.buffer === buf.buffer).toBe(false);
  });

  it("keeps at most maxBytes of idle pieces", () => {
    const pool = new PieceBufferPool(MiB);
    const a = pool.acquire(MiB);
    const b = pool.acquire(MiB);
    pool.release(a);
    pool.release(b);
    expect(pool.acquire(MiB)).toBe(a);
    expect(pool.acquire(MiB) === b).toBe(false);
  });

  it("has room for a piece_staged header naming an IPv4 peer per block, with a long worker id", () => {
    for (const size of [16 * 1024, 256 * 1024, MiB, 2 * MiB]) {
      const pool = new PieceBufferPool(0);
      const data = pool.acquire(size).fill(7);
      const blocks = Math.ceil(size / (16 * 1024));
      // Distinct, and each as long as an IPv4 peer gets: "255.255.255.255:65535".
      const peers = Array.from({ length: blocks }, (_, i) => `200.${100 + (i % 100)}.255.${100 + Math.floor(i / 100)}:65535`);
      expect(peers.every((p) => p.length === 21)).toBe(true);
      const payload = { infoHash: "f".repeat(40), piece: 9_999_999, attempt: 999, workerId: "w".repeat(64), peers, data };
      const body = encodePayload(payload, { intoHeadroom: true });
      expect(body.buffer, `piece of ${size} bytes`).toBe(data.buffer);
      expect((decodePayload(body) as typeof payload).peers).toEqual(peers);
    }
  });

  it("copies, still right, a header longer than the headroom", () => {
    const pool = new PieceBufferPool(0);
    const data = pool.acquire(16 * 1024).fill(3);
    const peers = Array.from({ length: 40 }, (_, i) => `2001:db8:85a3:1:2:8a2e:370:${i}:51413`);
    const payload = { infoHash: "f".repeat(40), piece: 1, attempt: 1, workerId: "w", peers, data };
    const body = encodePayload(payload, { intoHeadroom: true });
    expect(body.buffer === data.buffer).toBe(false);
    const back = decodePayload(body) as typeof payload;
    expect(back.peers).toEqual(peers);
    expect(Buffer.from(back.data).equals(data)).toBe(true);
  });
});
