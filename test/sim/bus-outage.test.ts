import { describe, expect, it } from "vitest";
import { CoordinationError, type PieceBus } from "@shoal/coordination";
import { COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

/**
 * The cluster's bus as one worker sees it, with an outage switch: while down, every publish
 * fails as the NATS bus fails while it reconnects (BACKEND_UNAVAILABLE, retryable).
 */
function switchableBus(bus: PieceBus): PieceBus & { down: boolean; refused: number } {
  const b = {
    down: false,
    refused: 0,
    maxPayloadBytes: bus.maxPayloadBytes,
    publish: ((name, payload) => {
      if (!b.down) return bus.publish(name, payload);
      b.refused++;
      return Promise.reject(new CoordinationError("BACKEND_UNAVAILABLE", `publish ${name}: disconnected from NATS, reconnecting`, { retryable: true }));
    }) as PieceBus["publish"],
    subscribe: bus.subscribe.bind(bus),
    close: async () => undefined,
  };
  return b;
}

describe("bus outage", () => {
  it("a piece staged while the bus is down is sent once it is back, and the torrent completes with each piece written once", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 512 * KiB, seed: 83 });
    const c = await kit.cluster({ fixture, workers: 0 });
    const bus = switchableBus(c.bus);
    const w = await c.startWorker({ workerId: "worker-a" }, bus);
    const seed = await kit.seed(fixture, "127.0.0.83");
    await c.begin([w]);
    bus.down = true;
    await c.announce([seed.address]);
    // Pieces complete and are staged in the table, but their messages cannot leave.
    await until(async () => bus.refused >= 3 && (await c.claims.counts(c.infoHash)).staged > 0, {
      timeoutMs: 5_000,
      what: "staged pieces whose message the bus refused",
      describe: () => c.describe(),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    bus.down = false;
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    // Sent again, not downloaded again: every piece was claimed once.
    expect((await c.claims.pieces(c.infoHash)).map((p) => p.attempt)).toEqual(Array.from({ length: fixture.pieceCount }, () => 1));
  });
});
