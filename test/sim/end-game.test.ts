import { describe, expect, it } from "vitest";
import { COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

describe("end-game", () => {
  it("asks a fast seed for a slow seed's last blocks and cancels them at the slow one", async () => {
    const fixture = makeFixture({ pieceLength: 64 * KiB, size: 256 * KiB, seed: 61 });
    // A long request timeout: the slow seed must be overtaken by end-game, not by snubbing.
    const c = await kit.cluster({ fixture, worker: { requestTimeoutSeconds: 30, minPipeline: 4 } });
    // 250 ms a block: its four requests would take a second, the fast seed needs milliseconds.
    const slow = await kit.seed(fixture, "127.0.0.61", { serveIntervalMs: 250 });
    await c.begin();
    await c.announce([slow.address]);
    await until(() => slow.stats.requests > 0, { timeoutMs: 5_000, what: "requests to the slow seed" });
    const fast = await kit.seed(fixture, "127.0.0.62");
    await c.announce([fast.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    const askedOfSlow = new Set(slow.received().flatMap((m) => (m.type === "request" ? [`${m.index}/${m.begin}`] : [])));
    const askedOfFast = fast.received().flatMap((m) => (m.type === "request" ? [`${m.index}/${m.begin}`] : []));
    // The same blocks went to both seeds, and the slow one was told to forget them.
    expect(askedOfFast.filter((b) => askedOfSlow.has(b)).length).toBeGreaterThan(0);
    expect(slow.received().some((m) => m.type === "cancel")).toBe(true);
    expect(slow.stats.blocksServed).toBeLessThan(slow.stats.requests);
  });
});
