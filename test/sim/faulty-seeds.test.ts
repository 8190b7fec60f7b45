import { describe, expect, it } from "vitest";
import { COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

describe("seeds that fail the worker", () => {
  it("re-requests a stalled seed's blocks from others after the request timeout", async () => {
    const fixture = makeFixture({ pieceLength: 64 * KiB, size: 1024 * KiB, seed: 21 });
    // Half a second: the first one-second tick of the swarm already finds the requests overdue.
    const c = await kit.cluster({ fixture, worker: { requestTimeoutSeconds: 0.5 } });
    const stall = await kit.seed(fixture, "127.0.0.21", { stall: true });
    await c.begin();
    // The staller alone first, so its pipeline fills with blocks nobody else has been asked for.
    await c.announce([stall.address]);
    // Timing out sends a cancel for every block the worker gives up on; it then keeps one
    // request there (a snubbed peer's pipeline), so only the requests before the first cancel count.
    const stalledBlocks = () => {
      const msgs = stall.received();
      const firstCancel = msgs.findIndex((m) => m.type === "cancel");
      return firstCancel < 0 ? [] : msgs.slice(0, firstCancel).flatMap((m) => (m.type === "request" ? [`${m.index}/${m.begin}`] : []));
    };
    const cancelled = () => new Set(stall.received().flatMap((m) => (m.type === "cancel" ? [`${m.index}/${m.begin}`] : [])));
    await until(() => stalledBlocks().length > 0 && stalledBlocks().every((b) => cancelled().has(b)), {
      timeoutMs: 5_000,
      what: "the worker to time out and cancel the stalling seed's requests",
      describe: () => c.describe(),
    });
    const stalled = stalledBlocks();
    expect(c.logsMatching(/requests timed out/).map((l) => l["peer"])).toContain(stall.key);
    const honest = await Promise.all(["127.0.0.22", "127.0.0.23"].map((ip) => kit.seed(fixture, ip)));
    await c.announce(honest.map((s) => s.address));
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    expect(stall.stats.blocksServed).toBe(0);
    const askedOfHonest = new Set(
      honest.flatMap((s) => s.received()).flatMap((m) => (m.type === "request" ? [`${m.index}/${m.begin}`] : [])),
    );
    for (const b of stalled) expect(askedOfHonest.has(b), `block ${b} asked of an honest seed`).toBe(true);
  });

  it("bans a seed whose pieces fail the hash, closes its connection and completes from the others", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 1024 * KiB, seed: 22 });
    const c = await kit.cluster({ fixture });
    const bad = await kit.seed(fixture, "127.0.0.31", { corruptPieces: Array.from({ length: fixture.pieceCount }, (_, i) => i) });
    await c.begin();
    await c.announce([bad.address]);
    // Alone, it is asked for whole pieces, so the hash failures are pinned on it alone.
    await until(async () => (await c.claims.bannedPeers(c.infoHash)).includes(bad.key), {
      timeoutMs: 5_000,
      what: "the corrupt seed to be banned",
      wakeOn: [[c.events, "banned"]],
      describe: () => c.describe(),
    });
    await bad.sessions[0]!.waitClosed(2_000);
    const honest = await Promise.all(["127.0.0.32", "127.0.0.33"].map((ip) => kit.seed(fixture, ip)));
    await c.announce([...honest.map((s) => s.address), bad.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    expect(await c.claims.bannedPeers(c.infoHash)).toEqual([bad.key]);
    expect(bad.stats.corruptBlocksServed).toBeGreaterThan(0);
    expect(bad.stats.closedByRemote).toBe(1);
    // Announced again after the ban, it is never dialled again.
    expect(bad.stats.connections).toBe(1);
  });

  it("bans a corrupt seed that shares the swarm with honest ones from the start, without banning them", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 2048 * KiB, seed: 23 });
    const c = await kit.cluster({ fixture });
    const bad = await kit.seed(fixture, "127.0.0.34", { corruptPieces: Array.from({ length: fixture.pieceCount }, (_, i) => i) });
    const honest = await Promise.all(["127.0.0.35", "127.0.0.36"].map((ip) => kit.seed(fixture, ip, { serveIntervalMs: 2 })));
    await c.begin();
    await c.announce([bad.address, ...honest.map((s) => s.address)]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    expect(await c.claims.bannedPeers(c.infoHash)).toEqual([bad.key]);
    expect(bad.stats.closedByRemote).toBe(1);
  });

  it("completes from the others when a seed chokes mid-download and never unchokes", async () => {
    const fixture = makeFixture({ pieceLength: 64 * KiB, size: 1024 * KiB, seed: 24 });
    const c = await kit.cluster({ fixture });
    const choker = await kit.seed(fixture, "127.0.0.41", { chokeAfterBlocks: 5 });
    await c.begin();
    await c.announce([choker.address]);
    await until(() => choker.received().some((m) => m.type === "request") && choker.stats.blocksServed === 5, {
      timeoutMs: 5_000,
      what: "the choking seed to serve its five blocks and choke",
    });
    const honest = await Promise.all(["127.0.0.42", "127.0.0.43"].map((ip) => kit.seed(fixture, ip)));
    await c.announce(honest.map((s) => s.address));
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    expect(choker.stats.blocksServed).toBe(5);
    // It got the worker's pipeline before it choked; nothing after that was answered.
    expect(choker.stats.requests).toBeGreaterThan(5);
  });

  it("completes from the others when a seed hangs up mid-download", async () => {
    const fixture = makeFixture({ pieceLength: 64 * KiB, size: 1024 * KiB, seed: 26 });
    const c = await kit.cluster({ fixture });
    const quitter = await kit.seed(fixture, "127.0.0.46", { closeAfterBlocks: 6 });
    await c.begin();
    await c.announce([quitter.address]);
    await until(() => quitter.sessions[0]?.closed === true, { timeoutMs: 5_000, what: "the seed to serve six blocks and hang up" });
    const honest = await kit.seed(fixture, "127.0.0.47");
    await c.announce([honest.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    expect(quitter.stats.blocksServed).toBe(6);
  });

  it("asks other seeds for blocks a seed rejects (BEP 6)", async () => {
    const fixture = makeFixture({ pieceLength: 64 * KiB, size: 512 * KiB, seed: 25 });
    const c = await kit.cluster({ fixture });
    const rejecter = await kit.seed(fixture, "127.0.0.44", { rejectRequests: true });
    await c.begin();
    await c.announce([rejecter.address]);
    await until(() => rejecter.stats.rejectsSent > 0, { timeoutMs: 5_000, what: "the seed to reject a request" });
    const honest = await kit.seed(fixture, "127.0.0.45");
    await c.announce([honest.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    expect(rejecter.stats.blocksServed).toBe(0);
  });
});
