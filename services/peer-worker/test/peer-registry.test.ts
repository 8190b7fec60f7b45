import { connect, createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fairPeerShare } from "@shoal/coordination";
import { CoordinationError, type ClaimTable } from "@shoal/coordination";
import * as peerWorker from "@shoal/peer-worker";
import type { PeerWorkerConfig, RunningPeerWorker } from "@shoal/peer-worker";
import { FakeSeed } from "../../../test/sim/fake-seed.js";
import { Cleanup, SIM_WORKER_DEFAULTS, SimCluster, allSocketsClosed } from "../../../test/sim/harness.js";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";
import { ourHandshake } from "../../../test/sim/wire-session.js";

/** Enough peers that three workers each get several, few enough to start in a blink. */
const SEEDS = 12;
/** A worker that joins gets its share within two registry rounds of the others and one of its own (2 s each). */
const SHARE_WITHIN_MS = 8_000;
const REPLY_WITHIN_MS = 3_000;

// Many pieces, and seeds that never send a block: the download never ends, so connections stay
// up for as long as a case looks at them.
const fixture = makeFixture({ pieceLength: 32 * 1024, size: 64 * 32 * 1024, seed: 61 });

const cleanup = new Cleanup();
afterEach(async () => {
  await cleanup.run();
  await allSocketsClosed();
});

async function seeds(n: number): Promise<FakeSeed[]> {
  const out: FakeSeed[] = [];
  for (let i = 0; i < n; i++) out.push(cleanup.add(await FakeSeed.start(fixture, `127.0.1.${i + 1}`, { stall: true }), (s) => s.close()));
  return out;
}

async function cluster(workers: number): Promise<SimCluster> {
  const c = cleanup.add(await SimCluster.start({ fixture, workers: 0 }), (x) => x.close());
  for (let i = 0; i < workers; i++) await c.startWorker({ workerId: `worker-${String.fromCharCode(97 + i)}` });
  return c;
}

const connections = (c: SimCluster, w: RunningPeerWorker): number => (w.swarmStatus(c.infoHash)?.["peers"] as number | undefined) ?? 0;
const total = (c: SimCluster): number => c.workers.reduce((n, w) => n + connections(c, w), 0);
const live = (s: FakeSeed): number => s.sessions.filter((x) => !x.closed).length;

/**
 * Watches every seed's live connections every few milliseconds for the rest of the case and
 * remembers the most any seed had at once: two would mean two workers connected one peer.
 */
function watchOverlap(all: readonly FakeSeed[]): { readonly most: () => number } {
  let most = 0;
  const timer = setInterval(() => {
    for (const s of all) most = Math.max(most, live(s));
  }, 5);
  cleanup.add(timer, (t) => clearInterval(t));
  return { most: () => Math.max(most, ...all.map(live)) };
}

async function describeAll(c: SimCluster, all: readonly FakeSeed[]): Promise<string> {
  const owners = (await c.claims.knownPeers(c.infoHash)).map((k) => `${k.peer}=${k.owner ?? "free"}`).join(" ");
  return `seeds' live connections: ${all.map(live).join(",")}\nregistry: ${owners}\n${await c.describe()}`;
}

describe("peer-worker: the cluster's peer registry decides who connects whom", () => {
  it("connects every peer from one worker only and spreads the peers over the workers", async () => {
    const c = await cluster(3);
    const all = await seeds(SEEDS);
    const overlap = watchOverlap(all);
    const calls: { workerId: string; peers: readonly string[] }[] = [];
    const claimPeers = c.claims.claimPeers.bind(c.claims);
    c.claims.claimPeers = async (infoHash, workerId, peers, max) => {
      calls.push({ workerId, peers });
      return claimPeers(infoHash, workerId, peers, max);
    };
    await c.begin();
    await c.announce(all.map((s) => s.address));
    const share = fairPeerShare(SEEDS, 3);
    await until(() => all.every((s) => live(s) === 1) && total(c) === SEEDS, {
      timeoutMs: SHARE_WITHIN_MS,
      what: "every seed connected",
      describe: () => describeAll(c, all),
    });
    const perWorker = c.workers.map((w) => connections(c, w));
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(SEEDS);
    for (const n of perWorker) expect(n, `connections per worker: ${perWorker.join(", ")}`).toBeLessThanOrEqual(share);
    for (const n of perWorker) expect(n, `connections per worker: ${perWorker.join(", ")}`).toBeGreaterThan(0);
    expect(overlap.most()).toBe(1);
    // The registry agrees: every seed is owned, each by the worker that connects it.
    const known = await c.claims.knownPeers(c.infoHash);
    expect(known.filter((k) => k.owner !== undefined)).toHaveLength(SEEDS);
    // One registry call per worker for the whole peer list, not one per peer.
    const keys = new Set(all.map((x) => x.key));
    for (const w of c.workers) {
      const first = calls.find((x) => x.workerId === w.workerId && x.peers.some((p) => keys.has(p)));
      expect([...(first?.peers ?? [])].sort(), w.workerId).toEqual([...keys].sort());
    }
  });

  it("splits the peers at the first claim among workers that join together, even when some register late", async () => {
    // Workers on other machines hear of the torrent at the same moment, but their first call
    // to the registry lands a little later than the quickest one's: here, 300 ms later. The
    // settle's bound is far: each ends it once all three have registered.
    const c = cleanup.add(await SimCluster.start({ fixture, workers: 0, worker: { joinSettleMs: 5_000 } }), (x) => x.close());
    for (const id of ["worker-a", "worker-b", "worker-c"]) await c.startWorker({ workerId: id });
    const claimPeers = c.claims.claimPeers.bind(c.claims);
    const delayed = new Set(["worker-b", "worker-c"]);
    c.claims.claimPeers = async (infoHash, workerId, peers, max) => {
      if (delayed.delete(workerId)) await new Promise((r) => setTimeout(r, 300));
      return claimPeers(infoHash, workerId, peers, max);
    };
    const all = await seeds(SEEDS);
    await c.begin();
    await c.announce(all.map((s) => s.address));
    const share = fairPeerShare(SEEDS, 3);
    await until(() => all.every((s) => live(s) === 1) && total(c) === SEEDS, {
      timeoutMs: SHARE_WITHIN_MS,
      what: "every seed connected",
      describe: () => describeAll(c, all),
    });
    const perWorker = c.workers.map((w) => connections(c, w));
    for (const n of perWorker) expect(n, `connections per worker: ${perWorker.join(", ")}`).toBeLessThanOrEqual(share);
    // Nothing was handed over: each seed was connected once, by the worker that keeps it.
    expect(all.map((s) => s.sessions.length), await describeAll(c, all)).toEqual(all.map(() => 1));
    expect(c.logs.filter((line) => line.includes("every peer worker of the cluster registered"))).toHaveLength(3);
  });

  it("gives a worker that joins mid-download its share within seconds, taken from the others", async () => {
    const c = await cluster(2);
    const all = await seeds(SEEDS);
    const overlap = watchOverlap(all);
    await c.begin();
    await c.announce(all.map((s) => s.address));
    await until(() => all.every((s) => live(s) === 1) && total(c) === all.length, { timeoutMs: SHARE_WITHIN_MS, what: "every seed connected", describe: () => describeAll(c, all) });
    expect(c.workers.map((w) => connections(c, w))).toEqual([SEEDS / 2, SEEDS / 2]);

    // The late worker hears of the torrent (the owner repeats torrent_started) but of no peer:
    // they were all announced before it started.
    const late = await c.startWorker({ workerId: "worker-late" });
    const joinedAt = Date.now();
    await c.bus.publish("torrent_started", { infoHash: c.infoHash, repeat: true });
    const share = fairPeerShare(SEEDS, 3);
    await until(() => connections(c, late) >= SEEDS - 2 * share && c.workers.every((w) => connections(c, w) <= share), {
      timeoutMs: SHARE_WITHIN_MS,
      what: "the late worker to get its share of the peers and the others to keep theirs",
      describe: () => describeAll(c, all),
    });
    expect(Date.now() - joinedAt).toBeLessThan(SHARE_WITHIN_MS);
    await until(() => all.every((s) => live(s) === 1) && total(c) === SEEDS, { timeoutMs: SHARE_WITHIN_MS, what: "every seed connected again", describe: () => describeAll(c, all) });
    expect(overlap.most()).toBe(1);
  });

  it("hands a stopped worker's peers to the others", async () => {
    const c = await cluster(3);
    const all = await seeds(SEEDS);
    const overlap = watchOverlap(all);
    await c.begin();
    await c.announce(all.map((s) => s.address));
    await until(() => all.every((s) => live(s) === 1) && total(c) === all.length, { timeoutMs: SHARE_WITHIN_MS, what: "every seed connected", describe: () => describeAll(c, all) });
    const [stopped, ...rest] = c.workers;
    expect(connections(c, stopped!)).toBeGreaterThan(0);
    await stopped!.stop();
    // Its peers are free in the registry at once, and its lease has ended: the others' share grows.
    expect((await c.claims.knownPeers(c.infoHash)).filter((k) => k.owner === stopped!.workerId)).toEqual([]);
    await until(() => rest.reduce((n, w) => n + connections(c, w), 0) === SEEDS && all.every((s) => live(s) === 1), {
      timeoutMs: SHARE_WITHIN_MS,
      what: "the remaining workers to connect every seed",
      describe: () => describeAll(c, all),
    });
    expect(overlap.most()).toBe(1);
  });

  it("moves the peers of a worker cut off from the claim table to the others, never sharing one", async () => {
    let claimsClockMs = 1_000_000;
    const c = cleanup.add(await SimCluster.start({ fixture, workers: 0, claimsNow: () => claimsClockMs }), (x) => x.close());
    // Cut off, the worker's every claim-table call fails, as when it cannot reach Redis. A short
    // lease, so it notices within seconds; the survivor's outlasts the clock jump below.
    const cut = cutOffWorker(c, { workerId: "worker-cut", heartbeatTtlSeconds: 2 });
    const dying = await cut.start();
    const survivor = await c.startWorker({ workerId: "worker-survivor", heartbeatTtlSeconds: 3600 });
    const all = await seeds(4);
    const overlap = watchOverlap(all);
    await c.begin();
    await c.announce(all.map((s) => s.address));
    await until(() => all.every((s) => live(s) === 1) && total(c) === all.length, { timeoutMs: SHARE_WITHIN_MS, what: "every seed connected", describe: () => describeAll(c, all) });
    expect(connections(c, dying)).toBeGreaterThan(0);

    cut.cutOff = true;
    // Its heartbeats fail: it drops its peers before its lease can lapse.
    await until(() => connections(c, dying) === 0, { timeoutMs: SHARE_WITHIN_MS, what: "the cut-off worker to drop its peers", describe: () => describeAll(c, all) });
    // The lease lapses and the owner's sweep frees its peers; the survivor takes them.
    claimsClockMs += 3_000;
    await c.claims.expireWorkers(c.infoHash);
    expect((await c.claims.knownPeers(c.infoHash)).filter((k) => k.owner === dying.workerId)).toEqual([]);
    await until(() => connections(c, survivor) === all.length, {
      timeoutMs: SHARE_WITHIN_MS,
      what: "the survivor to connect the cut-off worker's peers",
      describe: () => describeAll(c, all),
    });
    expect(overlap.most()).toBe(1);
  });

  it("refuses an incoming connection from an address another worker owns, and keeps one nobody owns", async () => {
    const c = await cluster(1);
    await c.begin();
    const w = c.workers[0]!;
    const [owned, free] = [await freePort("127.0.1.100"), await freePort("127.0.1.101")];
    await c.claims.heartbeat(c.infoHash, "worker-elsewhere", 60_000);
    expect((await c.claims.claimPeers(c.infoHash, "worker-elsewhere", [`127.0.1.100:${owned}`], 1)).peers).toHaveLength(1);

    const refused = await handshakeFrom("127.0.1.100", owned, w.port);
    expect(refused.reply.length).toBe(0);
    const admitted = await handshakeFrom("127.0.1.101", free, w.port);
    expect(admitted.reply.length).toBeGreaterThan(0);
    // Registered under the address as seen, for as long as it is connected.
    expect((await c.claims.knownPeers(c.infoHash)).find((k) => k.peer === `127.0.1.101:${free}`)?.owner).toBe(w.workerId);
    admitted.close();
    await until(async () => (await c.claims.knownPeers(c.infoHash)).every((k) => k.peer !== `127.0.1.101:${free}`), {
      timeoutMs: REPLY_WITHIN_MS,
      what: "the ended incoming connection's address to be forgotten",
      describe: () => c.describe(),
    });
  });
});

/** A port on `ip` that was free a moment ago. */
async function freePort(ip: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Connects from `ip:port` and sends our handshake; answers what came back within a moment (the
 * worker's handshake, or nothing when it hung up), and a way to close.
 */
async function handshakeFrom(ip: string, localPort: number, workerPort: number): Promise<{ reply: Buffer; close: () => void }> {
  const socket = connect({ host: "127.0.0.1", port: workerPort, localAddress: ip, localPort });
  cleanup.add(socket, (s) => s.destroy());
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.write(ourHandshake(fixture.meta.infoHash, { fast: true }));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, REPLY_WITHIN_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("data", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { reply: Buffer.concat(chunks), close: () => socket.destroy() };
}

/**
 * A worker of the cluster whose claim table turns unreachable once `cutOff` is set: every call
 * fails with BACKEND_UNAVAILABLE, as a Redis adapter's do while the server is away.
 */
function cutOffWorker(c: SimCluster, overrides: Partial<PeerWorkerConfig>): { cutOff: boolean; start(): Promise<RunningPeerWorker> } {
  const handle = {
    cutOff: false,
    async start(): Promise<RunningPeerWorker> {
      const claims = new Proxy(c.claims, {
        get: (target, prop, receiver) => {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (handle.cutOff) return Promise.reject(new CoordinationError("BACKEND_UNAVAILABLE", "claim table unreachable", { retryable: true }));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }) as ClaimTable;
      const config = peerWorker.peerWorkerConfigSchema.parse({ ...SIM_WORKER_DEFAULTS, ...overrides });
      const w = await peerWorker.start(config, { claims, store: c.store, bus: c.bus, torrents: c.torrents, logger: c.logger, pool: c.pool });
      c.workers.push(w);
      return w;
    },
  };
  return handle;
}
