import { describe, expect, it } from "vitest";
import { COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

describe("several workers on one torrent", () => {
  it("splits one torrent between two workers sharing the claim table, each piece fetched by one of them", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 2048 * KiB, seed: 14 });
    const c = await kit.cluster({ fixture, workers: 2 });
    // Slow enough that both workers are connected before the pieces run out.
    const seeds = await Promise.all(["127.0.0.18", "127.0.0.19"].map((ip) => kit.seed(fixture, ip, { serveIntervalMs: 2 })));
    await c.begin();
    await c.announce(seeds.map((s) => s.address));
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    const byWorker = new Set(c.stagedBy.map((s) => s.workerId));
    expect([...byWorker].sort()).toEqual(c.workers.map((w) => w.workerId).sort());
    // The peer registry gives each seed to one worker: one connection each, a seed per worker.
    for (const s of seeds) expect(s.stats.connections).toBe(1);
  });

  it("leaves the winner's staged bytes alone when two workers finish the same piece in end-game", async () => {
    // One piece: whichever worker does not hold its claim can only take part through end-game.
    const fixture = makeFixture({ pieceLength: 128 * KiB, size: 128 * KiB, seed: 81 });
    // Staging through the store (as one process does): the staged copy is what is at stake.
    const c = await kit.cluster({ fixture, workers: 0, worker: { minPipeline: 8, stagePiecesOnBus: false } });
    // A verifier with a backlog: the staged copy must survive until it gets to it.
    c.store.holdStagedReads();
    const a = await c.startWorker({ workerId: "worker-a" });
    // 60 ms a block: the piece takes about half a second, so the second worker joins in time.
    const seed = await kit.seed(fixture, "127.0.0.81", { serveIntervalMs: 60 });
    await c.begin([a]);
    await c.announce([seed.address]);
    await until(async () => (await c.claims.counts(c.infoHash)).claimed === 1 && seed.stats.requests > 0, {
      timeoutMs: 5_000,
      what: "worker A to claim the piece and request it",
    });
    // A peer is connected by one worker only, so worker B gets a seed of its own: with two live
    // workers and two peers, worker A's share is the one it has.
    const b = await c.startWorker({ workerId: "worker-b" });
    const second = await kit.seed(fixture, "127.0.0.84", { serveIntervalMs: 60 });
    await c.begin([b]);
    await c.announce([second.address]);
    // Both workers download the whole piece and try to stage it; one of them wins.
    await until(() => c.claims.stageResults.filter((r) => r.piece === 0).length >= 2, {
      timeoutMs: 5_000,
      what: "both workers to try staging piece 0",
      describe: () => c.describe(),
    });
    const tries = c.claims.stageResults.filter((r) => r.piece === 0);
    expect(tries.map((r) => r.result).sort()).toEqual(["ok", "wrong_state"]);
    expect(new Set(tries.map((r) => r.workerId)).size).toBe(2);
    // The loser's clean-up follows its failed transition within the same turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const rec = await c.claims.piece(c.infoHash, 0);
    expect(rec.state).toBe("staged");
    const winner = tries.find((r) => r.result === "ok")!.workerId;
    const stillStaged = await c.store.hasStaged({ infoHash: c.infoHash, piece: 0, attempt: rec.attempt, workerId: winner });
    c.store.releaseStagedReads();
    expect(stillStaged, "the winner's staged bytes are still there").toBe(true);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
  });

  it("gives back the claims of a worker whose only seed went away, and another worker downloads them", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 16 * 32 * KiB, seed: 82 });
    const c = await kit.cluster({ fixture, workers: 0 });
    // One second without a source, so the release comes within a tick or two of the swarm.
    const a = await c.startWorker({ workerId: "worker-a", sourcelessClaimSeconds: 1 });
    // Worker A's only seed takes requests and never answers, then leaves.
    const stall = await kit.seed(fixture, "127.0.0.82", { stall: true });
    await c.begin([a]);
    await c.announce([stall.address]);
    await until(async () => (await c.claims.counts(c.infoHash)).claimed > 0 && stall.stats.requests > 0, {
      timeoutMs: 5_000,
      what: "worker A to claim pieces and request them",
      describe: () => c.describe(),
    });
    const held = (await c.claims.pieces(c.infoHash)).flatMap((p, i) => (p.holder === "worker-a" ? [i] : []));
    expect(held.length).toBeGreaterThan(0);
    await stall.close();
    await until(async () => (await c.claims.counts(c.infoHash)).claimed === 0, {
      timeoutMs: 5_000,
      what: "worker A to give back the pieces no connection of it has",
      describe: () => c.describe(),
    });
    const pieces = await c.claims.pieces(c.infoHash);
    for (const i of held) expect(pieces[i]!.state).toBe("missing");

    // Worker B, with a seed of its own, claims them afresh.
    const b = await c.startWorker({ workerId: "worker-b" });
    const honest = await kit.seed(fixture, "127.0.0.83");
    await c.begin([b]);
    await c.announce([honest.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    const after = await c.claims.pieces(c.infoHash);
    for (const i of held) expect(after[i]!.attempt).toBeGreaterThanOrEqual(2);
  });
});
