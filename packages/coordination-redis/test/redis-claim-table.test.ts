import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryClaimTable, checkInvariants, fairPeerShare, heldKey, ownedPeersKey, peerWorkerPresenceKey, torrentKeys, type ClaimTable } from "@shoal/coordination";
import { RedisCatalog, RedisClaimTable } from "@shoal/coordination-redis";
import { respCommand, waitFor } from "@shoal/testkit";
import { redisPerFile } from "./redis-per-file.js";

const redis = redisPerFile();
const newInfoHash = () => randomBytes(20).toString("hex");

/** The lease of the server-clock case: long enough that no call outlives it, short enough to wait for. */
const SERVER_CLOCK_TTL_MS = 1_000;
/** DESIGN.md's limit on pieces per torrent: the largest table the scripts must handle. */
const MAX_PIECES = 2_097_152;

describe("RedisClaimTable on a real server", () => {
  const open: { close(): Promise<void> }[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const port of open.splice(0)) await port.close();
    for (const prefix of prefixes.splice(0)) await redis.dropPrefix(prefix);
  });
  const table = (withClock?: () => number) => {
    const prefix = redis.newPrefix();
    prefixes.push(prefix);
    const t = new RedisClaimTable({ url: redis.server().url, prefix }, withClock ? { clock: withClock } : {});
    open.push(t);
    return { table: t, prefix };
  };

  it("runs leases on the Redis server's clock when no clock is injected", async () => {
    const { table: t, prefix } = table();
    const ih = newInfoHash();
    await t.createTorrent(ih, 4, []);
    const started = Date.now();
    await t.heartbeat(ih, "w", SERVER_CLOCK_TTL_MS);
    const [seconds, micros] = (await respCommand(redis.server().url, ["TIME"])) as [string, string];
    const serverNowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const leaseEnd = Number(await respCommand(redis.server().url, ["ZSCORE", torrentKeys(prefix, ih).leases, "w"]));
    // The lease ends one TTL after the heartbeat, measured on the server's clock.
    expect(leaseEnd - serverNowMs).toBeGreaterThan(0);
    expect(leaseEnd - serverNowMs).toBeLessThanOrEqual(SERVER_CLOCK_TTL_MS);

    expect(await t.claim(ih, "w", [0, 1], 2)).toHaveLength(2);
    expect(await t.expireWorkers(ih)).toBe(0);
    let moved = 0;
    await waitFor(async () => (moved += await t.expireWorkers(ih)) > 0, { timeoutMs: 5_000, what: "the lease to lapse" });
    expect(moved).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SERVER_CLOCK_TTL_MS - 1);
    expect(await t.counts(ih)).toMatchObject({ missing: 4, claimed: 0 });
  });

  it("counts live workers for the fair peer share on the Redis server's clock when no clock is injected", async () => {
    const { table: t } = table();
    const ih = newInfoHash();
    await t.createTorrent(ih, 1, []);
    await t.heartbeat(ih, "a", 60_000);
    await t.heartbeat(ih, "b", 60_000);
    await t.claimPeers(ih, "b", [], 0);
    const peers = Array.from({ length: 8 }, (_, i) => `10.0.0.${i}:1`);
    expect(await t.claimPeers(ih, "a", peers, 8)).toEqual({ peers: peers.slice(0, fairPeerShare(8, 2)), share: fairPeerShare(8, 2), liveWorkers: 2 });
    // A lease of 0 ends now on the server's clock: "b" no longer counts.
    await t.heartbeat(ih, "b", 0);
    expect((await t.claimPeers(ih, "a", [], 8)).share).toBe(fairPeerShare(8, 1));
  });

  it("keeps the cluster's peer workers in one key outside every torrent's slot, on the server's clock", async () => {
    const { table: t, prefix } = table();
    expect(await t.peerWorkerPresence("a", SERVER_CLOCK_TTL_MS)).toBe(1);
    const [seconds, micros] = (await respCommand(redis.server().url, ["TIME"])) as [string, string];
    const serverNowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const key = peerWorkerPresenceKey(prefix);
    expect(await redis.keys(`${prefix}:*`)).toEqual([key]);
    expect(key).not.toContain("{");
    const until = Number(await respCommand(redis.server().url, ["ZSCORE", key, "a"]));
    expect(until - serverNowMs).toBeGreaterThan(0);
    expect(until - serverNowMs).toBeLessThanOrEqual(SERVER_CLOCK_TTL_MS);
    expect(await t.peerWorkerPresence("b", 60_000)).toBe(2);
    // "a" lapses on the server's clock, and the next call drops it from the key.
    await waitFor(async () => (await t.peerWorkerPresence("b", 60_000)) === 1, { timeoutMs: 5_000, what: "a's presence to lapse" });
    expect(await respCommand(redis.server().url, ["ZRANGE", key, "0", "-1"])).toEqual(["b"]);
    // The last one to leave takes the key with it.
    expect(await t.peerWorkerPresence("b", 0)).toBe(0);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it("counts availability vectors by leases on the server's clock, in one round trip each way", async () => {
    const { table: t } = table();
    const ih = newInfoHash();
    await t.createTorrent(ih, 3, []);
    await t.heartbeat(ih, "a", 60_000);
    await t.heartbeat(ih, "b", 60_000);
    await t.publishAvailability(ih, "a", Uint16Array.of(1, 0, 2));
    await t.publishAvailability(ih, "b", Uint16Array.of(0, 0, 5));
    expect([...(await t.availability(ih))]).toEqual([1, 0, 7]);
    expect([...(await t.availability(ih, "a"))]).toEqual([0, 0, 5]);
    // A lease of 0 ends now on the server's clock: "b" no longer counts.
    await t.heartbeat(ih, "b", 0);
    expect([...(await t.availability(ih))]).toEqual([1, 0, 2]);
  });

  it("keeps every key of a torrent under its hash tag, and deleteTorrent removes all of them but the catalog's", async () => {
    let now = 1_000;
    const { table: t, prefix } = table(() => now);
    const catalog = new RedisCatalog({ url: redis.server().url, prefix });
    open.push(catalog);
    const ih = newInfoHash();
    const other = newInfoHash();
    await t.createTorrent(ih, 8, [7], [6]);
    await t.createTorrent(other, 2, []);
    await catalog.put({ infoHash: ih, infoBytes: Uint8Array.of(1, 2), announceTiers: [], destination: "d", private: false });
    await t.heartbeat(ih, "a", 10_000);
    await t.heartbeat(ih, "b", 10_000);
    await t.claim(ih, "a", [0, 1], 2);
    await t.claim(ih, "b", [2, 3], 2);
    await t.claim(ih, "never-beat", [4], 1);
    await t.claim(other, "a", [0], 1);
    expect(await t.stage(ih, "a", { piece: 1, attempt: 1 })).toBe("ok");
    expect((await t.reject(ih, { piece: 1, attempt: 1 }, ["10.0.0.1:1"])).result).toBe("ok");
    // A writer holds a verified piece under a lease that outlives the expiry below.
    const [five] = await t.claim(ih, "b", [5], 1);
    expect(await t.stage(ih, "b", five!)).toBe("ok");
    expect(await t.verify(ih, five!)).toBe("ok");
    await t.heartbeat(ih, "writer", 100_000);
    expect(await t.hold(ih, "writer", [five!])).toEqual(["ok"]);
    await t.claimPeers(ih, "a", ["10.0.1.1:1"], 1);
    await t.claimPeers(ih, "peers-only", ["10.0.1.2:1", "10.0.1.3:1"], 1);
    await t.publishAvailability(ih, "a", Uint16Array.of(1, 1, 1, 1, 1, 1, 1, 1));
    await t.publishAvailability(ih, "writer", Uint16Array.of(0, 0, 0, 0, 0, 0, 0, 2));

    const k = torrentKeys(prefix, ih);
    const expected = [
      k.counts,
      k.states,
      k.attempts,
      k.holders,
      k.leases,
      k.strikes,
      k.catalog,
      k.peerOwners,
      k.freePeers,
      k.peerWorkers,
      k.availability,
      ...["a", "b", "never-beat", "writer"].map((w) => heldKey(prefix, ih, w)),
      ...["a", "peers-only"].map((w) => ownedPeersKey(prefix, ih, w)),
    ];
    expect(await redis.keys(`${prefix}:t:{${ih}}:*`)).toEqual(expected.sort());
    for (const key of await redis.keys(`${prefix}:*`)) expect(key, key).toMatch(/^[^{]*\{([0-9a-f]{40})\}/);

    now += 20_000;
    expect(await t.expireWorkers(ih)).toBe(4);
    expect(checkInvariants(await t.pieces(ih))).toEqual([]);
    expect(await redis.keys(heldKey(prefix, ih, "*"))).toEqual([heldKey(prefix, ih, "writer")]);
    // The lapsed workers' peers are free, and their owned-peer sets are gone with their held sets.
    expect((await t.knownPeers(ih)).filter((p) => p.owner !== undefined)).toEqual([]);
    expect(await redis.keys(`${prefix}:t:{${ih}}:peers:owned:*`)).toEqual([]);
    // The lapsed worker's vector went with its lease; the writer's (still live) stays.
    expect(await respCommand(redis.server().url, ["HKEYS", k.availability])).toEqual(["writer"]);
    await t.claim(ih, "b", [0], 1);
    await t.heartbeat(ih, "b", 10_000);
    await t.claimPeers(ih, "b", [], 2);
    await t.deleteTorrent(ih);
    expect(await redis.keys(`${prefix}:t:{${ih}}:*`)).toEqual([k.catalog]);
    expect(await t.counts(other)).toMatchObject({ claimed: 1 });
  });

  it("claims a batch of candidates in one script call", async () => {
    const { table: t } = table(() => 0);
    const ih = newInfoHash();
    await t.createTorrent(ih, 600, []);
    // The first call of a script may need a second command (NOSCRIPT, then EVAL); count after it.
    await t.claim(ih, "w", [599], 1);
    const scriptCalls = async () => {
      const info = String(await respCommand(redis.server().url, ["INFO", "commandstats"]));
      return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await scriptCalls();
    const claims = await t.claim(ih, "w", Array.from({ length: 599 }, (_, i) => 598 - i), 500);
    expect(await scriptCalls()).toBe(before + 1);
    expect(claims).toHaveLength(500);
    expect(claims[0]).toEqual({ piece: 598, attempt: 1 });
  });

  it("claims a batch of peers in one script call", async () => {
    const { table: t } = table(() => 0);
    const ih = newInfoHash();
    await t.createTorrent(ih, 1, []);
    await t.claimPeers(ih, "w", ["10.0.0.1:1"], 1);
    const scriptCalls = async () => {
      const info = String(await respCommand(redis.server().url, ["INFO", "commandstats"]));
      return [...info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await scriptCalls();
    const grant = await t.claimPeers(ih, "w", Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}:6881`), 80);
    expect(await scriptCalls()).toBe(before + 1);
    expect(grant.peers).toHaveLength(80);
  });

  it(`holds a ${MAX_PIECES}-piece table: created with its counts, claimed, read whole and deleted`, async () => {
    const { table: t, prefix } = table(() => 0);
    const ih = newInfoHash();
    const stored = Array.from({ length: MAX_PIECES / 4 }, (_, i) => i * 4);
    await t.createTorrent(ih, MAX_PIECES, stored, [1, 5]);
    expect(await t.counts(ih)).toEqual({ missing: MAX_PIECES - stored.length - 2, claimed: 0, staged: 0, verified: 0, stored: stored.length, skipped: 2 });
    expect(await t.claim(ih, "w", [MAX_PIECES - 1, 0, 1, 2], 4)).toEqual([
      { piece: MAX_PIECES - 1, attempt: 1 },
      { piece: 2, attempt: 1 },
    ]);
    const pieces = await t.pieces(ih);
    expect(pieces).toHaveLength(MAX_PIECES);
    expect(pieces[MAX_PIECES - 1]).toEqual({ state: "claimed", attempt: 1, holder: "w" });
    expect(pieces[4]).toEqual({ state: "stored", attempt: 0 });
    expect(await t.piecesIn(ih, "skipped")).toEqual([1, 5]);
    expect(await t.piecesIn(ih, "claimed")).toEqual([2, MAX_PIECES - 1]);
    await t.deleteTorrent(ih);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it("answers as the memory table does where the contract leaves the choice open", async () => {
    const { table: t } = table(() => 0);
    const memory = new MemoryClaimTable(() => 0);
    const ih = newInfoHash();
    const run = async (c: ClaimTable) => {
      await c.createTorrent(ih, 8, [7]);
      // A second call keeps the first table without looking at its arguments, bad ones included.
      await c.createTorrent(ih, 2, [5], [9]);
      await c.claim(ih, "b", [6, 4], 2);
      await c.claim(ih, "a", [5, 0, 3], 3);
      await c.claim(ih, "c", [2, 1], 2);
      return { claimedBy: await c.claimedBy(ih), others: await c.claimedBy(ih, "a"), pieces: await c.pieces(ih) };
    };
    expect(await run(t)).toEqual(await run(memory));
  });

  it("refuses a key prefix with a brace, naming the key", () => {
    expect(() => new RedisClaimTable({ url: redis.server().url, prefix: "a{b}" })).toThrow(/prefix/);
  });
});
