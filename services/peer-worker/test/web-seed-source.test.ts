import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startWebSeedServer, waitFor, type WebSeedServer } from "@shoal/testkit";
import { makeFixture, type TorrentFixture } from "../../../test/sim/torrent-fixture.js";
import { testSwarm, type TestSwarm } from "./swarm-kit.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** The fixture's files on disk behind a web seed server; the seed URL names their directory. */
async function mirrorOf(fixture: TorrentFixture, faults: Parameters<typeof startWebSeedServer>[0]["faults"] = {}): Promise<WebSeedServer> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-wss-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const f of fixture.files) {
    const path = join(dir, fixture.meta.name, ...f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, fixture.payload.subarray(f.offset, f.offset + f.length));
  }
  const server = await startWebSeedServer({ root: dir, faults });
  cleanups.push(() => server.stop());
  return server;
}

async function swarmWith(fixture: TorrentFixture, webSeeds: string[], config: Record<string, unknown> = {}): Promise<TestSwarm> {
  const t = await testSwarm(fixture, { webSeeds, config });
  cleanups.push(() => t.close());
  return t;
}

describe("web seeds in a swarm", () => {
  it("claims every piece through the claim table and stages each with the web seed as its only sender", async () => {
    const fixture = makeFixture({ name: "ws", pieceLength: 32 * 1024, size: [100_000, 1, 250_000, 40_000] });
    const server = await mirrorOf(fixture);
    const t = await swarmWith(fixture, [server.url], { webSeedRequestMiB: 0.1 });
    const staged = new Map<number, { peers: string[]; data: Buffer }>();
    await t.bus.subscribe("piece_staged", "*", (m) => {
      staged.set(m.piece, { peers: m.peers, data: Buffer.from(m.data!) });
    }, { group: "verifier" });
    await waitFor(() => staged.size === fixture.pieceCount, { timeoutMs: 20_000, what: "every piece staged" });
    for (const [i, s] of staged) {
      expect(s.peers).toEqual([`web:${server.url}`]);
      expect(s.data.equals(fixture.payload.subarray(i * fixture.pieceLength, (i + 1) * fixture.pieceLength))).toBe(true);
    }
    expect((await t.claims.counts(fixture.infoHashHex)).staged).toBe(fixture.pieceCount);
    expect(t.swarm.stats().downloadedBytes).toBe(fixture.payload.length);
    expect(server.stats.bytesServed).toBe(fixture.payload.length);
  });

  it("stops asking a banned web seed, and the kill switch keeps web seeds off", async () => {
    const fixture = makeFixture({ name: "ban.bin", pieceLength: 32 * 1024, size: 2_000_000 });
    const server = await mirrorOf(fixture, { bytesPerSecond: 200_000 });
    const t = await swarmWith(fixture, [server.url], { webSeedRequestMiB: 0.1 });
    await waitFor(() => server.stats.requests > 0, { timeoutMs: 10_000, what: "a first request" });
    t.swarm.ban(`web:${server.url}`);
    const status = t.swarm.status()["webSeeds"] as { state: string }[];
    expect(status[0]!.state).toBe("banned");
    const after = server.stats.requests;
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.stats.requests).toBe(after);
    // Its pieces in flight went back to the table.
    await waitFor(async () => (await t.claims.counts(fixture.infoHashHex)).claimed === 0, { timeoutMs: 5_000, what: "claims given back" });

    const off = await mirrorOf(fixture);
    const t2 = await swarmWith(fixture, [off.url], { webSeeds: false });
    await new Promise((r) => setTimeout(r, 1000));
    expect(off.stats.requests).toBe(0);
    expect(t2.swarm.status()["webSeeds"]).toBeUndefined();
  });

  it("keeps what it holds within the memory budget", async () => {
    const fixture = makeFixture({ name: "budget.bin", pieceLength: 64 * 1024, size: 3_000_000 });
    const server = await mirrorOf(fixture, { bytesPerSecond: 300_000 });
    // A budget of 1 MiB: four requests of 0.5 MiB would want twice that.
    const t = await swarmWith(fixture, [server.url], { maxBufferedMiB: 1, webSeedRequestMiB: 0.5 });
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, t.swarm.scheduler.bufferedBytes())), 20);
    await waitFor(() => server.stats.bytesServed >= 1_500_000, { timeoutMs: 30_000, what: "half the torrent served" });
    clearInterval(timer);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(1024 * 1024);
  });
});
