import fc from "fast-check";
import { expect } from "vitest";
import { BAN_STRIKES, CoordinationError, MAX_FREE_PEERS, fairPeerShare, type ClaimTable } from "@shoal/coordination";
import type { ClaimTableFixture } from "./claim-table-fixture.js";
import type { ClaimTableHarness } from "./claim-table-contract.js";
import { expectRejection } from "./expect-error.js";
import { randomId, randomInfoHash } from "./ids.js";
import { PeerRegistryModel, sortKnown } from "./peer-registry-model.js";

type Scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>) => void;
type PortScenario = (title: string, body: (table: ClaimTable) => Promise<void>) => void;

/** Small enough that random operations fight over the same peers and workers. */
const PROPERTY_PEERS = Array.from({ length: 8 }, (_, i) => `10.2.0.${i + 1}:6881`);
const PROPERTY_WORKERS = 3;
const PROPERTY_MAX_OPS = 40;
const DEFAULT_RUNS = 100;

const peers = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `10.9.${Math.floor((from + i) / 250)}.${(from + i) % 250}:6881`);
const ownersOf = async (table: ClaimTable, ih: string) =>
  Object.fromEntries((await table.knownPeers(ih)).map((k) => [k.peer, k.owner ?? null]));

/**
 * The peer registry's cases, part of the ClaimTable contract: one owner per peer, grants in the
 * caller's order and within `max` and the fair share, ownership that lives with the lease, and a
 * random-operations property against PeerRegistryModel.
 */
export function claimTablePeerCases(scenario: Scenario, portScenario: PortScenario, harness: ClaimTableHarness, leaseTtlMs: number): void {
  scenario("claimPeers grants free peers in the given order up to max, and answers those the worker already owns", async (fx, table) => {
    const ih = await fx.torrent(1);
    const w = await fx.worker();
    const [a, b, c, d] = peers(4);
    expect(await table.claimPeers(ih, w, [c!, a!, b!], 2)).toEqual({ peers: [c, a], share: fairPeerShare(3, 1), liveWorkers: 1 });
    // Owned peers come back without counting against max; b and d stay free.
    expect(await table.claimPeers(ih, w, [a!, d!, c!], 0)).toEqual({ peers: [a, c], share: fairPeerShare(4, 1), liveWorkers: 1 });
    expect(sortKnown(await table.knownPeers(ih))).toEqual(sortKnown([{ peer: a!, owner: w }, { peer: c!, owner: w }, { peer: b! }, { peer: d! }]));
    // A peer named twice is one peer.
    expect((await table.claimPeers(ih, w, [b!, b!], 5)).peers).toEqual([b, d]);
  });

  scenario("a peer owned by one worker is never granted to another", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [x, y] = [await fx.worker(), await fx.worker()];
    const [a, b, c] = peers(3);
    await table.claimPeers(ih, y, [], 0);
    expect((await table.claimPeers(ih, x, [a!], 1)).peers).toEqual([a]);
    expect((await table.claimPeers(ih, y, [a!, b!, c!], 3)).peers).toEqual([b, c]);
    expect(await ownersOf(table, ih)).toEqual({ [a!]: x, [b!]: y, [c!]: y });
    expect((await table.claimPeers(ih, x, [b!, c!], 3)).peers).toEqual([]);
  });

  scenario("claimPeers takes free peers it did not name while it has room", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [x, y] = [await fx.worker(), await fx.worker()];
    const known = peers(6);
    await table.claimPeers(ih, x, known, 0);
    const grant = await table.claimPeers(ih, y, [], 2);
    expect(grant.peers).toHaveLength(2);
    for (const p of grant.peers) expect(known).toContain(p);
    const owners = await ownersOf(table, ih);
    expect(Object.values(owners).filter((o) => o === y)).toHaveLength(2);
    // Named free peers come first: with room for one more (a share of 3), the named one is it.
    const named = known.find((p) => owners[p] === null)!;
    expect(await table.claimPeers(ih, y, [named], 2)).toEqual({ peers: [named], share: fairPeerShare(6, 2), liveWorkers: 2 });
  });

  scenario("a worker is granted no more than its fair share of the known peers over the live workers", async (fx, table) => {
    const ih = await fx.torrent(1);
    const workers = [await fx.worker(), await fx.worker(), await fx.worker()];
    // Each takes part before any asks for peers, as a worker does when it joins a torrent.
    for (const [i, w] of workers.entries()) expect(await table.claimPeers(ih, w, [], 0)).toEqual({ peers: [], share: 0, liveWorkers: i + 1 });
    const known = peers(30);
    const share = fairPeerShare(30, 3);
    const got: string[][] = [];
    for (const w of workers) {
      const grant = await table.claimPeers(ih, w, known, 100);
      expect(grant.share, w).toBe(share);
      expect(grant.peers.length, w).toBeLessThanOrEqual(share);
      got.push(grant.peers);
    }
    // The first to ask leaves the others what they lack of the even split: ten each, all taken.
    expect(got.map((g) => g.length)).toEqual([10, 10, 10]);
    expect(new Set(got.flat()).size).toBe(30);
    // A worker that sends no heartbeat still counts itself: four live workers now.
    const late = await table.claimPeers(ih, "worker-without-lease", peers(10, 100), 100);
    expect(late.share).toBe(fairPeerShare(40, 4));
    expect(late.peers).toHaveLength(10);
  });

  scenario("a claim leaves the other live workers what they lack of the even split rounded down", async (fx, table) => {
    const ih = await fx.torrent(1);
    const workers = [await fx.worker(), await fx.worker(), await fx.worker()];
    for (const w of workers) await table.claimPeers(ih, w, [], 0);
    // Four peers over three workers: a share of two, but taking two each would leave one worker none.
    const known = peers(4);
    const got = [];
    for (const w of workers) got.push((await table.claimPeers(ih, w, known, 4)).peers.length);
    expect(got).toEqual([2, 1, 1]);
    // A worker that already has its part reserves nothing: a fifth peer goes to whoever asks.
    expect((await table.claimPeers(ih, workers[1]!, peers(1, 50), 4)).peers).toEqual(peers(1, 50));
  });

  scenario("a worker's share drops when another lacks peers no free one can give, down to the even split rounded down", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [x, y] = [await fx.worker(), await fx.worker()];
    const [a, b, c, d] = peers(4);
    await table.claimPeers(ih, y, [], 0);
    expect((await table.claimPeers(ih, x, [a!, b!, c!, d!], 2)).peers).toEqual([a, b]);
    expect((await table.claimPeers(ih, y, [c!, d!], 2)).peers).toEqual([c, d]);
    // A third worker joins: four peers held 2-2-0. Nothing is free, so it gets nothing yet...
    const z = await fx.worker();
    expect(await table.claimPeers(ih, z, [], 4)).toEqual({ peers: [], share: fairPeerShare(4, 3), liveWorkers: 3 });
    // ...and the others are asked to keep one each (it lacks one; each is asked for it).
    expect((await table.claimPeers(ih, x, [], 0)).share).toBe(1);
    expect((await table.claimPeers(ih, y, [], 0)).share).toBe(1);
    expect(await table.releasePeers(ih, x, [b!])).toBe(1);
    expect((await table.claimPeers(ih, z, [], 4)).peers).toEqual([b]);
    // Nobody lacks any more: the fair share again.
    expect((await table.claimPeers(ih, y, [], 0)).share).toBe(fairPeerShare(4, 3));
  });

  scenario("only workers taking part in the peer registry count as live, not every lease holder", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [peerWorker, writer] = [await fx.worker(), await fx.worker()];
    // The writer holds a lease on the torrent (it heartbeats for pieces it holds) but never asks for peers.
    expect(await table.claimPeers(ih, peerWorker, peers(6), 6)).toEqual({ peers: peers(6), share: fairPeerShare(6, 1), liveWorkers: 1 });
    await table.heartbeat(ih, writer, leaseTtlMs);
    expect((await table.claimPeers(ih, peerWorker, [], 0)).share).toBe(fairPeerShare(6, 1));
    // Once it asks, it counts.
    expect((await table.claimPeers(ih, writer, [], 0)).share).toBe(fairPeerShare(6, 2));
    expect((await table.claimPeers(ih, peerWorker, [], 0)).share).toBe(fairPeerShare(6, 2));
  });

  scenario("a lapsed worker stops counting as live and expireWorkers frees its peers", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [lapsed, live] = [await fx.worker(), await fx.worker()];
    const known = peers(8);
    await table.claimPeers(ih, live, [], 0);
    expect((await table.claimPeers(ih, lapsed, known, 100)).peers).toHaveLength(fairPeerShare(8, 2));
    await fx.advanceTime(leaseTtlMs * 0.6);
    await table.heartbeat(ih, live, leaseTtlMs);
    await fx.advanceTime(leaseTtlMs * 0.6);
    // Lapsed but not yet expired: it no longer counts, yet its peers are still its own.
    const before = await table.claimPeers(ih, live, known, 100);
    expect(before.share).toBe(fairPeerShare(8, 1));
    expect(before.peers).toHaveLength(8 - fairPeerShare(8, 2));
    expect(await table.expireWorkers(ih)).toBe(0);
    const after = await table.claimPeers(ih, live, [], 100);
    expect(after.peers).toHaveLength(fairPeerShare(8, 2));
    expect(Object.values(await ownersOf(table, ih))).toEqual(Array(8).fill(live));
  });

  scenario("peers of a worker that never sent a heartbeat are freed by expireWorkers", async (fx, table) => {
    const ih = await fx.torrent(1);
    await table.claimPeers(ih, "worker-without-lease", peers(2), 2);
    await table.expireWorkers(ih);
    expect(await table.knownPeers(ih)).toHaveLength(2);
    expect(Object.values(await ownersOf(table, ih))).toEqual([null, null]);
  });

  scenario("a heartbeat with a ttl of 0 ends the lease at once", async (fx, table) => {
    const ih = await fx.torrent(1);
    const [leaving, staying] = [await fx.worker(), await fx.worker()];
    await table.claimPeers(ih, staying, [], 0);
    expect((await table.claimPeers(ih, leaving, peers(4), 4)).peers).toHaveLength(fairPeerShare(4, 2));
    expect((await table.claimPeers(ih, staying, [], 0)).share).toBe(fairPeerShare(4, 2));
    await table.heartbeat(ih, leaving, 0);
    expect((await table.claimPeers(ih, staying, [], 0)).share).toBe(fairPeerShare(4, 1));
    await table.expireWorkers(ih);
    expect((await table.claimPeers(ih, staying, [], 4)).peers).toHaveLength(4);
  });

  scenario("releasePeers frees only the caller's peers, or forgets them", async (fx, table) => {
    const ih = await fx.torrent(1);
    const x = await fx.worker();
    const [a, b, c, unknown] = peers(4);
    expect((await table.claimPeers(ih, x, [a!, b!, c!], 3)).peers).toEqual([a, b, c]);
    const y = await fx.worker();
    expect(await table.releasePeers(ih, y, [a!, b!])).toBe(0);
    expect(await table.releasePeers(ih, x, [a!, unknown!, a!])).toBe(1);
    expect(await table.releasePeers(ih, x, [b!], { forget: true })).toBe(1);
    expect(await ownersOf(table, ih)).toEqual({ [a!]: null, [c!]: x });
    // The freed peer is anyone's again; the forgotten one is known again once named.
    expect((await table.claimPeers(ih, y, [a!, b!], 2)).peers).toEqual([a, b]);
  });

  scenario("banned peers are neither registered nor granted, and a released banned peer is forgotten", async (fx, table) => {
    const ih = await fx.torrent(1);
    const w = await fx.worker();
    const [bad, good, freeThenBanned, ownedThenBanned] = peers(4);
    await table.claimPeers(ih, w, [ownedThenBanned!], 1);
    await table.claimPeers(ih, w, [freeThenBanned!], 0);
    for (let strike = 0; strike < BAN_STRIKES; strike++) {
      const claim = await fx.driveTo(ih, 0, "staged", w);
      expect((await table.reject(ih, claim, [bad!, freeThenBanned!, ownedThenBanned!])).result).toBe("ok");
    }
    const grant = await table.claimPeers(ih, w, [bad!, good!], 5);
    // The owned banned peer is not named, the free banned one is skipped on the way.
    expect(grant.peers).toEqual([good]);
    expect(await table.releasePeers(ih, w, [ownedThenBanned!])).toBe(1);
    const known = (await table.knownPeers(ih)).map((k) => k.peer);
    expect(known).not.toContain(bad);
    expect(known).not.toContain(freeThenBanned);
    expect(known).not.toContain(ownedThenBanned);
    expect(known).toContain(good);
  });

  scenario(`the free list remembers at most MAX_FREE_PEERS (${MAX_FREE_PEERS}) peers`, async (fx, table) => {
    const ih = await fx.torrent(1);
    const w = await fx.worker();
    const many = peers(MAX_FREE_PEERS + 5);
    // The peers it could not remember still count as known: they are wanted.
    expect((await table.claimPeers(ih, w, many, 0)).share).toBe(fairPeerShare(MAX_FREE_PEERS + 5, 1));
    expect(await table.knownPeers(ih)).toHaveLength(MAX_FREE_PEERS);
    // A full free list does not keep a named peer from being granted.
    const last = many[many.length - 1]!;
    expect((await table.claimPeers(ih, w, [last], 1)).peers).toEqual([last]);
  });

  scenario("deleteTorrent removes the peer registry", async (fx, table) => {
    const ih = await fx.torrent(1);
    await table.claimPeers(ih, await fx.worker(), peers(3), 2);
    await table.deleteTorrent(ih);
    fx.forget(ih);
    await table.createTorrent(ih, 1, []);
    expect(await table.knownPeers(ih)).toEqual([]);
    await table.deleteTorrent(ih);
  });

  scenario("every peer registry method throws UNKNOWN_TORRENT for a torrent never created", async (_fx, table) => {
    const ih = randomInfoHash();
    const calls: Record<string, () => Promise<unknown>> = {
      claimPeers: () => table.claimPeers(ih, "w", ["10.0.0.1:1"], 1),
      releasePeers: () => table.releasePeers(ih, "w", ["10.0.0.1:1"]),
      knownPeers: () => table.knownPeers(ih),
    };
    for (const [name, call] of Object.entries(calls)) await expectRejection(call, CoordinationError, "UNKNOWN_TORRENT", name);
  });

  portScenario("after close every peer registry method throws CoordinationError BACKEND_UNAVAILABLE, retryable", async (table) => {
    const ih = randomInfoHash();
    await table.createTorrent(ih, 1, []);
    await table.claimPeers(ih, "w", ["10.0.0.1:1"], 1);
    await table.close();
    const calls: Record<string, () => Promise<unknown>> = {
      claimPeers: () => table.claimPeers(ih, "w", ["10.0.0.2:1"], 1),
      releasePeers: () => table.releasePeers(ih, "w", ["10.0.0.1:1"]),
      knownPeers: () => table.knownPeers(ih),
    };
    for (const [name, call] of Object.entries(calls)) {
      const err = await expectRejection(call, CoordinationError, "BACKEND_UNAVAILABLE", `${name} after close`);
      expect(err.retryable, `${name} after close: retryable`).toBe(true);
    }
  });

  peerRegistryProperty(portScenario, harness, leaseTtlMs);
}

type Op =
  | { readonly kind: "heartbeat"; readonly worker: number; readonly leave: boolean }
  | { readonly kind: "advance" }
  | { readonly kind: "expire" }
  | { readonly kind: "claim"; readonly worker: number; readonly peers: readonly number[]; readonly max: number }
  | { readonly kind: "release"; readonly worker: number; readonly peers: readonly number[]; readonly forget: boolean };

const worker = fc.nat(PROPERTY_WORKERS - 1);
const peerList = fc.array(fc.nat(PROPERTY_PEERS.length - 1), { maxLength: 5 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), worker, leave: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("advance" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("expire" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("claim" as const), worker, peers: peerList, max: fc.nat(4) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant("release" as const), worker, peers: peerList, forget: fc.boolean() }), weight: 2 },
);

/**
 * Random heartbeats (some ending the lease), time steps, sweeps, claims and releases agree with
 * PeerRegistryModel after every step; in particular no peer ever has two owners, and no claim
 * takes a worker past its fair share.
 */
function peerRegistryProperty(scenario: PortScenario, harness: ClaimTableHarness, leaseTtlMs: number): void {
  // As in the piece property: steps that never add up to exactly one lease.
  let stepMs = Math.floor(leaseTtlMs * 0.3);
  if (leaseTtlMs % stepMs === 0) stepMs++;

  scenario("random peer registry operations agree with a simple model", async (table) => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: PROPERTY_MAX_OPS }), async (ops) => {
        const ih = randomInfoHash();
        const workers = Array.from({ length: PROPERTY_WORKERS }, () => randomId("worker"));
        await table.createTorrent(ih, 1, []);
        const model = new PeerRegistryModel();
        try {
          for (const [n, op] of ops.entries()) {
            const label = `op ${n} ${JSON.stringify(op)}`;
            switch (op.kind) {
              case "heartbeat": {
                const ttl = op.leave ? 0 : leaseTtlMs;
                await table.heartbeat(ih, workers[op.worker]!, ttl);
                model.heartbeat(workers[op.worker]!, ttl);
                break;
              }
              case "advance":
                await harness.advanceTime(stepMs);
                model.advance(stepMs);
                break;
              case "expire":
                await table.expireWorkers(ih);
                model.expire();
                break;
              case "claim": {
                const w = workers[op.worker]!;
                const named = op.peers.map((i) => PROPERTY_PEERS[i]!);
                const before = model.ownedBy(w);
                const grant = await table.claimPeers(ih, w, named, op.max);
                model.claimPeers(w, named, op.max, grant, label);
                expect(model.ownedBy(w), `${label}: within the share or no more than before`).toBeLessThanOrEqual(Math.max(before, grant.share));
                break;
              }
              case "release": {
                const named = op.peers.map((i) => PROPERTY_PEERS[i]!);
                const released = await table.releasePeers(ih, workers[op.worker]!, named, { forget: op.forget });
                expect(released, label).toBe(model.releasePeers(workers[op.worker]!, named, op.forget));
                break;
              }
            }
            const known = sortKnown(await table.knownPeers(ih));
            expect(new Set(known.map((k) => k.peer)).size, `${label}: one entry per peer`).toBe(known.length);
            expect(known, label).toEqual(model.known());
          }
        } finally {
          await table.deleteTorrent(ih);
        }
      }),
      { numRuns: harness.propertyRuns ?? DEFAULT_RUNS },
    );
  });
}
