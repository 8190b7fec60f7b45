import { describe, expect, it } from "vitest";
import type { SeedBehavior } from "./fake-seed.js";
import { BLOCK_BYTES, COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

const kit = scenarioKit();

/** Each hostile seed breaks one rule of the wire; each must cost it its connection. */
const HOSTILE: readonly { readonly what: string; readonly ip: string; readonly behavior: SeedBehavior }[] = [
  { what: "a bitfield with spare bits set", ip: "127.0.0.51", behavior: { spareBits: true } },
  { what: "a length prefix over 1 MiB", ip: "127.0.0.52", behavior: { oversizeMessage: true } },
  { what: "a piece block larger than 16 KiB", ip: "127.0.0.53", behavior: { oversizeBlock: true } },
  { what: "a have with an index out of range", ip: "127.0.0.54", behavior: { haveOutOfRange: true } },
];

describe("hostile peers", () => {
  for (const h of HOSTILE) {
    it(`disconnects a seed that sends ${h.what}, and completes from an honest seed`, async () => {
      // Eleven pieces: the bitfield has five spare bits to abuse.
      const fixture = makeFixture({ pieceLength: 32 * KiB, size: 11 * 32 * KiB - 1000, seed: 51 });
      const c = await kit.cluster({ fixture });
      const bad = await kit.seed(fixture, h.ip, h.behavior);
      await c.begin();
      // Alone first: the oversized block needs a request, and only a peer with pieces gets one.
      await c.announce([bad.address]);
      await until(() => bad.stats.closedByRemote > 0, {
        timeoutMs: 5_000,
        what: `the worker to drop the seed that sends ${h.what}`,
        describe: () => c.describe(),
      });
      const dropped = c.logsMatching(/peer dropped/).filter((l) => l["peer"] === bad.key);
      expect(dropped.length).toBe(1);
      expect(String(dropped[0]!["reason"])).toMatch(/^protocol violation/);
      const honest = await kit.seed(fixture, "127.0.0.55");
      await c.announce([honest.address]);
      await c.waitComplete(COMPLETE_WITHIN_MS);
      await expectCompleteAndSound(c);
      // Dropped once, not dialled again while the download ran.
      expect(bad.stats.connections).toBe(1);
    });
  }

  it("drops all four hostile seeds when they arrive together with an honest one", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 21 * 32 * KiB + 77, seed: 52 });
    const c = await kit.cluster({ fixture });
    const bad = await Promise.all(HOSTILE.map((h) => kit.seed(fixture, h.ip, h.behavior)));
    // Slow enough that the download is still running when the oversized block is asked for.
    const honest = await kit.seed(fixture, "127.0.0.56", { serveIntervalMs: 3 });
    await c.begin();
    await c.announce([...bad.map((s) => s.address), honest.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await expectCompleteAndSound(c);
    // The three that misbehave on connecting are certainly dropped; the block one only if asked.
    for (const s of bad.filter((_, i) => i !== 2)) expect(s.stats.closedByRemote, s.key).toBe(1);
    if (bad[2]!.stats.requests > 0) expect(bad[2]!.stats.closedByRemote).toBe(1);
  });

  it("asks again for a block answered at an unaligned offset, even with a single seed", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 8 * 32 * KiB, seed: 54 });
    const c = await kit.cluster({ fixture });
    const shifty = await kit.seed(fixture, "127.0.0.58", { misalignedBlock: true });
    await c.begin();
    await c.announce([shifty.address]);
    // The whole download takes milliseconds; seconds mean the block is lost for good.
    await c.waitComplete(2_500);
    await expectCompleteAndSound(c);
  });

  it("drops blocks nobody asked for: wrong bytes pushed into pieces in progress never reach the verifier", async () => {
    const fixture = makeFixture({ pieceLength: 32 * KiB, size: 16 * 32 * KiB, seed: 53 });
    const c = await kit.cluster({ fixture });
    const failed: number[] = [];
    c.events.on("failed", (piece: number) => failed.push(piece));
    // A slow honest seed keeps pieces in progress, with blocks free and blocks requested of it.
    const honest = await kit.seed(fixture, "127.0.0.57", { serveIntervalMs: 20 });
    await c.begin();
    await c.announce([honest.address]);
    await until(() => honest.stats.requests > 0, { timeoutMs: 5_000, what: "requests to the honest seed", describe: () => c.describe() });
    const pushy = await kit.seed(fixture, "127.0.0.59", { unrequestedBlocks: true });
    await c.announce([pushy.address]);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    const status = c.workers[0]!.swarmStatus(c.infoHash) as { wastedBytes: number };
    await expectCompleteAndSound(c);
    expect(pushy.stats.unrequestedBlocksSent).toBe((16 * 32 * KiB) / BLOCK_BYTES);
    // Taken into a piece, a pushed block fails its hash and gets the honest seed blamed too.
    expect(failed).toEqual([]);
    expect(await c.claims.bannedPeers(c.infoHash)).toEqual([]);
    expect(status.wastedBytes).toBeGreaterThanOrEqual(fixture.payload.length);
  });
});
