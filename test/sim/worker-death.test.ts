import { describe, expect, it } from "vitest";
import { checkInvariants, type PieceBus } from "@shoal/coordination";
import { COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

/** Lease of the worker that dies: its heartbeat timer (a third of this) never fires in the test. */
const DYING_TTL_SECONDS = 30;
/** Lease of the survivor: far beyond the clock jump, so only the dead worker expires. */
const SURVIVOR_TTL_SECONDS = 3600;

describe("worker death", () => {
  it("returns a silent worker's claims to missing when its lease lapses, and another worker completes", async () => {
    let claimsClockMs = 0;
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 1024 * KiB, seed: 71 });
    const c = await kit.cluster({ fixture, workers: 0, claimsNow: () => claimsClockMs });
    // Worker A hangs: it holds claims on pieces from a seed that never answers, and its own bus
    // reaches no verifier, so nothing it does can finish a piece.
    const deadBus = c.isolatedBus();
    const a = await c.startWorker({ workerId: "worker-a", heartbeatTtlSeconds: DYING_TTL_SECONDS }, deadBus);
    const stall = await kit.seed(fixture, "127.0.0.71", { stall: true });
    await c.begin([a], deadBus);
    await c.announce([stall.address], deadBus);
    await until(async () => (await c.claims.counts(c.infoHash)).claimed > 0 && stall.stats.requests > 0, {
      timeoutMs: 5_000,
      what: "worker A to claim pieces and request them",
      describe: () => c.describe(),
    });
    const held = (await c.claims.pieces(c.infoHash)).flatMap((p, i) => (p.holder === "worker-a" ? [i] : []));
    expect(held.length).toBeGreaterThan(0);

    // Its heartbeat lapses: the clock passes its lease and the sweep runs.
    claimsClockMs += (DYING_TTL_SECONDS + 1) * 1000;
    expect(await c.claims.expireWorkers(c.infoHash)).toBe(held.length);
    const pieces = await c.claims.pieces(c.infoHash);
    for (const i of held) expect(pieces[i]!.state).toBe("missing");
    expect(checkInvariants(pieces, new Set())).toEqual([]);

    const b = await c.startWorker({ workerId: "worker-b", heartbeatTtlSeconds: SURVIVOR_TTL_SECONDS });
    const honest = await kit.seed(fixture, "127.0.0.72");
    await c.begin([b]);
    await c.announce([honest.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    const after = await c.claims.pieces(c.infoHash);
    // Each piece A had held was claimed again: a new attempt, so A's late bytes would be stale.
    for (const i of held) expect(after[i]!.attempt).toBeGreaterThanOrEqual(2);
    expect(checkInvariants(after, new Set(["worker-b"]))).toEqual([]);
  });

  it("returns the pieces a worker staged but never announced (it died in between) to missing when its lease lapses", async () => {
    let claimsClockMs = 0;
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 512 * KiB, seed: 75 });
    const c = await kit.cluster({ fixture, workers: 0, claimsNow: () => claimsClockMs });
    // Worker A stages pieces in the claim table, but its piece_staged messages never leave, as
    // when a process is killed between the two steps.
    const swallowing: PieceBus = {
      maxPayloadBytes: c.bus.maxPayloadBytes,
      publish: ((name, payload) => (name === "piece_staged" ? Promise.resolve() : c.bus.publish(name, payload))) as PieceBus["publish"],
      subscribe: c.bus.subscribe.bind(c.bus),
      close: async () => undefined,
    };
    const a = await c.startWorker({ workerId: "worker-a", heartbeatTtlSeconds: DYING_TTL_SECONDS }, swallowing);
    const seed = await kit.seed(fixture, "127.0.0.75");
    await c.begin([a]);
    await c.announce([seed.address]);
    await until(async () => (await c.claims.counts(c.infoHash)).staged >= 4, {
      timeoutMs: 5_000,
      what: "worker A to stage pieces",
      describe: () => c.describe(),
    });
    await a.stop();
    const staged = await c.claims.piecesIn(c.infoHash, "staged");
    expect(staged.length).toBeGreaterThan(0);
    for (const i of staged) expect((await c.claims.piece(c.infoHash, i)).holder).toBe("worker-a");

    // Its lease lapses: what it staged goes back to missing, and worker B fetches it.
    claimsClockMs += (DYING_TTL_SECONDS + 1) * 1000;
    const freed = await c.claims.expireLeases(c.infoHash);
    expect(freed.map((f) => f.piece)).toEqual(expect.arrayContaining(staged));
    const b = await c.startWorker({ workerId: "worker-b", heartbeatTtlSeconds: SURVIVOR_TTL_SECONDS });
    await c.begin([b]);
    await c.announce([seed.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
  });

  it("releases a stopping worker's claims at once, and another worker completes", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 512 * KiB, seed: 72 });
    const c = await kit.cluster({ fixture, workers: 0 });
    const a = await c.startWorker({ workerId: "worker-a" });
    const stall = await kit.seed(fixture, "127.0.0.73", { stall: true });
    await c.begin([a]);
    await c.announce([stall.address]);
    await until(async () => (await c.claims.counts(c.infoHash)).claimed > 0, { timeoutMs: 5_000, what: "worker A to claim pieces" });
    await a.stop();
    expect((await c.claims.counts(c.infoHash)).claimed).toBe(0);
    await stall.sessions[0]!.waitClosed(2_000);

    const b = await c.startWorker({ workerId: "worker-b" });
    const honest = await kit.seed(fixture, "127.0.0.74");
    await c.begin([b]);
    await c.announce([honest.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
  });
});
