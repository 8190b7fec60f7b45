import { describe, expect, it } from "vitest";
import { PublishGate, STAGE_IN_FLIGHT_BYTES } from "../src/publish-gate.js";

/** A publish the test ends by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("PublishGate", () => {
  it("runs at most its limit at once and the rest in the order they asked, a failure freeing its turn too", async () => {
    const gate = new PublishGate(2);
    const sends = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const results = sends.map((d, i) =>
      gate.run(() => {
        started.push(i);
        return d.promise;
      }).catch((e: Error) => e.message),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.load).toEqual({ running: 2, waiting: 3 });
    sends[1]!.reject(new Error("timeout"));
    await tick();
    // The failure halved the limit to one, and publish 0 still runs: 2 waits for it.
    expect(gate.limit).toBe(1);
    expect(started).toEqual([0, 1]);
    sends[0]!.resolve();
    await tick();
    // One success at limit one raises it to two again: 2 and 3 go.
    expect(gate.limit).toBe(2);
    expect(started).toEqual([0, 1, 2, 3]);
    sends[2]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    sends[3]!.resolve();
    sends[4]!.resolve();
    expect(await Promise.all(results)).toEqual([undefined, "timeout", undefined, undefined, undefined]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it("halves its limit on each failure down to one and climbs back by one per limit's worth of successes", async () => {
    const gate = new PublishGate(8);
    const fail = () => gate.run(() => Promise.reject(new Error("timeout"))).catch(() => undefined);
    const ok = () => gate.run(() => Promise.resolve());
    for (const want of [4, 2, 1, 1]) {
      await fail();
      expect(gate.limit).toBe(want);
    }
    await ok();
    expect(gate.limit).toBe(2);
    await ok();
    expect(gate.limit).toBe(2);
    await ok();
    expect(gate.limit).toBe(3);
    for (let i = 0; i < 100; i++) await ok();
    expect(gate.limit).toBe(8);
  });

  it("fits whole pieces into the bytes in flight, at least one however large the piece", () => {
    expect(PublishGate.forPieces(256 * 1024).max).toBe(STAGE_IN_FLIGHT_BYTES / (256 * 1024));
    expect(PublishGate.forPieces(16 * 1024 * 1024).max).toBe(1);
    expect(() => new PublishGate(0)).toThrow(/positive integer/);
  });
});
