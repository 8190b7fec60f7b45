import { afterEach, describe, expect, it } from "vitest";
import { FakeSeed } from "../../../test/sim/fake-seed.js";
import { Cleanup, SimCluster, allSocketsClosed } from "../../../test/sim/harness.js";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";

const fixture = makeFixture({ pieceLength: 32 * 1024, size: 8 * 32 * 1024, seed: 97 });

const cleanup = new Cleanup();
afterEach(async () => {
  await cleanup.run();
  await allSocketsClosed();
});

describe("peer-worker torrent lifecycle", () => {
  it("ignores a peer list that arrives after the torrent finished, until the torrent starts again", async () => {
    const c = cleanup.add(await SimCluster.start({ fixture }), (x) => x.close());
    await c.begin();
    const w = c.workers[0]!;
    // Joining a torrent reads its stored pieces: count the joins from here on.
    let joins = 0;
    const piecesIn = c.claims.piecesIn.bind(c.claims);
    c.claims.piecesIn = async (infoHash, state) => {
      if (state === "stored") joins++;
      return piecesIn(infoHash, state);
    };
    await c.bus.publish("torrent_finished", { infoHash: c.infoHash, reason: "stopped" });
    await c.bus.drain();

    // The tracker's last answer, delivered late: every handler has run once the bus drains.
    const seed = cleanup.add(await FakeSeed.start(fixture, "127.0.0.96"), (s) => s.close());
    await c.announce([seed.address]);
    await c.bus.drain();
    expect(joins).toBe(0);
    expect(w.swarmStatus(c.infoHash)).toBeUndefined();
    expect(w.status()).toEqual({});
    expect(seed.stats.connections).toBe(0);

    // Submitted again, the torrent is joined again.
    await c.begin();
    expect(joins).toBe(1);
  });

  it("joins a running torrent on a repeated torrent_started, but not one it saw finish", async () => {
    const c = cleanup.add(await SimCluster.start({ fixture, workers: 0 }), (x) => x.close());
    const late = await c.startWorker();
    // A worker started after the torrent did hears only the owner's repeats.
    await c.bus.publish("torrent_started", { infoHash: c.infoHash, repeat: true });
    await c.bus.drain();
    expect(late.swarmStatus(c.infoHash)).toBeDefined();

    await c.bus.publish("torrent_finished", { infoHash: c.infoHash, reason: "completed" });
    await c.bus.publish("torrent_started", { infoHash: c.infoHash, repeat: true });
    await c.bus.drain();
    expect(late.swarmStatus(c.infoHash)).toBeUndefined();
  });

  it("counts among the cluster's peer workers from its start until it stops", async () => {
    const c = cleanup.add(await SimCluster.start({ fixture, workers: 0 }), (x) => x.close());
    const a = await c.startWorker({ workerId: "worker-a" });
    await c.startWorker({ workerId: "worker-b" });
    // Asking with a ttl of 0 reads the count without being counted.
    expect(await c.claims.peerWorkerPresence("reader", 0)).toBe(2);
    await a.stop();
    expect(await c.claims.peerWorkerPresence("reader", 0)).toBe(1);
  });

  it("lets the cluster's only worker dial as soon as it registered with the torrent, not after joinSettleMs", async () => {
    const settleMs = 10_000;
    const c = cleanup.add(await SimCluster.start({ fixture, workers: 1, worker: { joinSettleMs: settleMs } }), (x) => x.close());
    const seed = cleanup.add(await FakeSeed.start(fixture, "127.0.0.97"), (s) => s.close());
    const startedAt = Date.now();
    await c.begin();
    await c.announce([seed.address]);
    await until(() => seed.stats.connections > 0, { timeoutMs: settleMs / 2, what: "the seed dialled", describe: () => c.describe() });
    expect(Date.now() - startedAt).toBeLessThan(settleMs / 4);
    expect(c.logs.some((line) => line.includes("every peer worker of the cluster registered"))).toBe(true);
  });
});
