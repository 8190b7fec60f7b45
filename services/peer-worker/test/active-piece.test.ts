import { describe, expect, it } from "vitest";
import { ActivePiece, BLOCK_BYTES, BLOCK_FREE, BLOCK_RECEIVED, BLOCK_REQUESTED, blockKey, splitBlockKey } from "../src/active-piece.js";
import type { PeerConnection } from "../src/connection.js";

// dropRequester only compares connections by identity, so stand-ins do.
const conn = (key: string) => ({ key }) as unknown as PeerConnection;

/** Marks `block` requested from `conns`, the way the block scheduler does. */
function request(p: ActivePiece, block: number, ...conns: PeerConnection[]): void {
  if (p.blocks[block] === BLOCK_FREE) {
    p.blocks[block] = BLOCK_REQUESTED;
    p.requested++;
  }
  p.requesters.set(block, [...(p.requesters.get(block) ?? []), ...conns]);
}

describe("ActivePiece", () => {
  it("splits a piece into 16 KiB blocks with a short last block", () => {
    const p = new ActivePiece(7, 1, 3 * BLOCK_BYTES + 100, true, 0);
    expect(p.blockCount).toBe(4);
    expect([0, 1, 2, 3].map((b) => p.blockLength(b))).toEqual([BLOCK_BYTES, BLOCK_BYTES, BLOCK_BYTES, 100]);
  });

  it("has no short block when the length is a multiple of the block size", () => {
    const p = new ActivePiece(0, 1, 2 * BLOCK_BYTES, true, 0);
    expect(p.blockCount).toBe(2);
    expect(p.blockLength(1)).toBe(BLOCK_BYTES);
  });

  it("makes a piece smaller than a block one short block", () => {
    const p = new ActivePiece(0, 1, 1000, false, 0);
    expect(p.blockCount).toBe(1);
    expect(p.blockLength(0)).toBe(1000);
  });

  it("is complete once every block was received", () => {
    const p = new ActivePiece(0, 1, 2 * BLOCK_BYTES, true, 0);
    expect(p.complete).toBe(false);
    p.received = 1;
    expect(p.complete).toBe(false);
    p.received = 2;
    expect(p.complete).toBe(true);
  });

  it("frees a requested block when its only requester drops it", () => {
    const p = new ActivePiece(0, 1, 2 * BLOCK_BYTES, true, 0);
    const a = conn("a");
    request(p, 1, a);
    p.dropRequester(1, a);
    expect(p.blocks[1]).toBe(BLOCK_FREE);
    expect(p.requested).toBe(0);
    expect(p.requesters.has(1)).toBe(false);
  });

  it("keeps an end-game block requested until its last requester drops it", () => {
    const p = new ActivePiece(0, 1, 2 * BLOCK_BYTES, true, 0);
    const [a, b] = [conn("a"), conn("b")];
    request(p, 0, a, b);
    p.dropRequester(0, a);
    expect(p.blocks[0]).toBe(BLOCK_REQUESTED);
    expect(p.requesters.get(0)).toEqual([b]);
    p.dropRequester(0, a);
    expect(p.requesters.get(0)).toEqual([b]);
    p.dropRequester(0, b);
    expect(p.blocks[0]).toBe(BLOCK_FREE);
    expect(p.requested).toBe(0);
  });

  it("leaves a received block received and ignores blocks nobody asked for", () => {
    const p = new ActivePiece(0, 1, 2 * BLOCK_BYTES, true, 0);
    const a = conn("a");
    request(p, 0, a);
    p.blocks[0] = BLOCK_RECEIVED;
    p.requested--;
    p.received++;
    p.dropRequester(0, a);
    expect(p.blocks[0]).toBe(BLOCK_RECEIVED);
    expect(p.requested).toBe(0);
    p.dropRequester(1, a);
    expect(p.blocks[1]).toBe(BLOCK_FREE);
    expect(p.requested).toBe(0);
  });
});

describe("block keys", () => {
  it("round-trip piece and block, up to the largest piece count and block index", () => {
    for (const [index, block] of [
      [0, 0],
      [5, 3],
      [1, 16_383],
      [2_097_151, 16_383],
    ] as const) {
      expect(splitBlockKey(blockKey(index, block))).toEqual({ index, block });
    }
    expect(blockKey(1, 0)).toBeGreaterThan(blockKey(0, 16_383));
  });
});
