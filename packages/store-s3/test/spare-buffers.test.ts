import { describe, expect, it } from "vitest";
import { SpareBuffers } from "../src/spare-buffers.js";

describe("SpareBuffers", () => {
  it("hands a part-sized buffer out again once its size has come back", () => {
    const spare = new SpareBuffers(1024);
    const first = spare.take(100);
    spare.give(first);
    // Asked for once: nothing says another unit of this size will come.
    expect(spare.idleBytes).toBe(0);
    const second = spare.take(100);
    expect(second).not.toBe(first);
    spare.give(second);
    expect(spare.idleBytes).toBe(100);
    expect(spare.take(100)).toBe(second);
    expect(spare.idleBytes).toBe(0);
  });

  it("keeps none of the buffers of units that each have a size of their own", () => {
    const spare = new SpareBuffers(1 << 20);
    for (let size = 1; size <= 3000; size++) spare.give(spare.take(size));
    expect(spare.idleBytes).toBe(0);
  });

  it("still reuses a repeating size among thousands of one-off sizes", () => {
    const spare = new SpareBuffers(1 << 20);
    const part = 4096;
    spare.take(part);
    let last = spare.take(part);
    spare.give(last);
    for (let size = 1; size <= 3000; size++) {
      spare.give(spare.take(size));
      const again = spare.take(part);
      expect(again).toBe(last);
      spare.give(again);
      last = again;
    }
    expect(spare.idleBytes).toBe(part);
  });

  it("holds at most its allowance idle, and only whole buffers", () => {
    const spare = new SpareBuffers(250);
    spare.take(100);
    const bufs = [spare.take(100), spare.take(100), spare.take(100)];
    for (const b of bufs) spare.give(b);
    expect(spare.idleBytes).toBe(200);
    const slab = Buffer.allocUnsafeSlow(200);
    expect(spare.take(100)).toBe(bufs[1]);
    // A view into a larger buffer is its owner's, even when the allowance has room.
    spare.give(slab.subarray(0, 100));
    expect(spare.idleBytes).toBe(100);
  });
});
