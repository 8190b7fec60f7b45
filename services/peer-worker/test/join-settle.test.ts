import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { PeerAddress } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { peerWorkerConfigSchema } from "../src/config.js";
import { SETTLE_POLL_MS } from "../src/join-settle.js";
import { PeerDialer } from "../src/peer-dialer.js";
import { until } from "../../../test/sim/wait.js";
import { ClaimTableProbe } from "./claim-table-probe.js";

const IH = "ef".repeat(20);
const LEASE_MS = 60_000;
/** Far above what one registration round costs, even on a loaded machine. */
const LONG_SETTLE_MS = 5_000;
/** Room for timers and rounds on a loaded machine: dials that come this late are not "at once". */
const SLACK_MS = 1_500;

/** A listening "peer": counts the connections a dial opens, and when each came. */
interface FakePeer {
  readonly address: PeerAddress;
  readonly dialledAt: number[];
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fakePeer(): Promise<FakePeer> {
  const sockets = new Set<Socket>();
  const dialledAt: number[] = [];
  const server: Server = createServer((socket) => {
    dialledAt.push(performance.now());
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { address: { ip: "127.0.0.1", port: (server.address() as { port: number }).port }, dialledAt };
}

async function registry(): Promise<ClaimTableProbe> {
  const probe = new ClaimTableProbe();
  await probe.table.createTorrent(IH, 1, []);
  return probe;
}

/** A worker joining the torrent now: its lease, then its dialer, which runs its first round. */
async function join(probe: ClaimTableProbe, workerId: string, settleMs: number, expected: () => number | undefined): Promise<PeerDialer> {
  await probe.table.heartbeat(IH, workerId, LEASE_MS);
  const config = peerWorkerConfigSchema.parse({ joinSettleMs: settleMs, encryption: "disable" });
  const host = { isClosed: () => false, conns: new Map(), isBanned: () => false, attach: () => undefined };
  const deps = { claims: probe.table, infoHash: Buffer.from(IH, "hex"), infoHashHex: IH, peerId: new Uint8Array(20), workerId, now: () => performance.now(), logger: silentLogger() };
  const dialer = new PeerDialer(host, config, { ...deps, expectedWorkers: expected });
  cleanups.push(() => dialer.close());
  dialer.run();
  return dialer;
}

const dialled = (peers: readonly FakePeer[]) => peers.reduce((n, p) => n + p.dialledAt.length, 0);
const firstDial = (peers: readonly FakePeer[]) => Math.min(...peers.flatMap((p) => p.dialledAt));

describe("peer-worker: the settle after joining a torrent", () => {
  it("lets a lone worker dial right after its first registration round, long before joinSettleMs", async () => {
    const probe = await registry();
    const peer = await fakePeer();
    const joinedAt = performance.now();
    const dialer = await join(probe, "worker-a", LONG_SETTLE_MS, () => 1);
    dialer.addPeers([peer.address]);
    await until(() => dialled([peer]) === 1, { timeoutMs: LONG_SETTLE_MS, what: "the lone worker to dial" });
    expect(firstDial([peer]) - joinedAt).toBeLessThan(SLACK_MS);
    // Its first round registered it, the next one claimed the peer to dial it: no polling.
    expect(probe.count("claimPeers")).toBe(2);
    expect(probe.maxInFlight).toBe(1);
  });

  it("waits until the second expected worker registered, then both dial and split the peers", async () => {
    const probe = await registry();
    const peers = [await fakePeer(), await fakePeer()];
    const first = await join(probe, "worker-a", LONG_SETTLE_MS, () => 2);
    first.addPeers(peers.map((p) => p.address));
    // Several polls of the registry later, nobody has been dialled.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS * 4));
    expect(dialled(peers)).toBe(0);
    const secondAt = performance.now();
    const second = await join(probe, "worker-b", LONG_SETTLE_MS, () => 2);
    second.addPeers(peers.map((p) => p.address));
    await until(() => peers.every((p) => p.dialledAt.length === 1), { timeoutMs: LONG_SETTLE_MS, what: "both peers dialled" });
    expect(firstDial(peers)).toBeGreaterThanOrEqual(secondAt);
    expect(Math.max(...peers.flatMap((p) => p.dialledAt)) - secondAt).toBeLessThan(SLACK_MS);
    // One peer each: both were registered before either claimed any.
    const owners = (await probe.table.knownPeers(IH)).map((k) => k.owner).sort();
    expect(owners).toEqual(["worker-a", "worker-b"]);
  });

  it("dials at joinSettleMs when an expected worker never registers, polling the registry a bounded number of times", async () => {
    const settleMs = 800;
    const probe = await registry();
    const peer = await fakePeer();
    const joinedAt = performance.now();
    const dialer = await join(probe, "worker-a", settleMs, () => 2);
    dialer.addPeers([peer.address]);
    await until(() => dialled([peer]) === 1, { timeoutMs: settleMs + SLACK_MS * 2, what: "the dial at the end of the settle" });
    // Timers fire no earlier than asked; a millisecond of room for the two clocks.
    expect(firstDial([peer]) - joinedAt).toBeGreaterThanOrEqual(settleMs - 1);
    expect(firstDial([peer]) - joinedAt).toBeLessThan(settleMs + SLACK_MS);
    // About one registration round per poll, one at a time, and the dial's.
    expect(probe.count("claimPeers")).toBeLessThanOrEqual(settleMs / SETTLE_POLL_MS + 2);
    expect(probe.count("claimPeers")).toBeGreaterThan(2);
    expect(probe.maxInFlight).toBe(1);
  });

  it("waits the whole joinSettleMs while the cluster's worker count is unknown", async () => {
    const settleMs = 600;
    const probe = await registry();
    const peer = await fakePeer();
    const joinedAt = performance.now();
    const dialer = await join(probe, "worker-a", settleMs, () => undefined);
    dialer.addPeers([peer.address]);
    await until(() => dialled([peer]) === 1, { timeoutMs: settleMs + SLACK_MS * 2, what: "the dial at the end of the settle" });
    expect(firstDial([peer]) - joinedAt).toBeGreaterThanOrEqual(settleMs - 1);
  });
});
