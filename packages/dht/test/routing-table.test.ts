import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { K, Lookup, LOOKUP_K, MAX_FAILURES, PeerStore, PerSourceLimiter, RoutingTable, TokenSecret, compareDistance, idInBucket, sharedPrefixBits } from "@shoal/dht";

const idOf = (...bytes: number[]) => {
  const b = new Uint8Array(20);
  b.set(bytes);
  return b;
};

describe("routing table", () => {
  it("keeps K nodes per bucket, queues newcomers and replaces a node that fails twice", () => {
    const self = idOf(0);
    const table = new RoutingTable(self, () => 0);
    // Every id starting with bit 1 shares 0 bits with ours: the same bucket.
    const nodes = Array.from({ length: K + 3 }, (_, i) => ({ id: idOf(0x80, i + 1), ip: "10.0.0.1", port: 1000 + i }));
    const outcomes = nodes.map((n) => table.heard(n, true));
    expect(outcomes.slice(0, K).every((o) => o === "added")).toBe(true);
    expect(outcomes.slice(K)).toEqual(["pending", "pending", "pending"]);
    expect(table.size).toBe(K);
    for (let i = 0; i < MAX_FAILURES; i++) table.failed("10.0.0.1", 1000);
    expect(table.size).toBe(K);
    expect(table.nodes().some((n) => n.port === 1000)).toBe(false);
    expect(table.nodes().some((n) => n.port === 1000 + K + 2)).toBe(true);
  });

  it("does not move a listed id to a new address, nor list one address twice", () => {
    const table = new RoutingTable(idOf(0), () => 0);
    expect(table.heard({ id: idOf(1), ip: "10.0.0.1", port: 1 }, true)).toBe("added");
    expect(table.heard({ id: idOf(1), ip: "10.6.6.6", port: 1 }, true)).toBe("ignored");
    expect(table.heard({ id: idOf(2), ip: "10.0.0.1", port: 1 }, true)).toBe("ignored");
    expect(table.heard({ id: idOf(0), ip: "10.0.0.2", port: 1 }, true)).toBe("ignored");
  });

  it("property: bounded size and closest() sorted by XOR distance", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }), { maxLength: 400 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (ids, target) => {
        const table = new RoutingTable(idOf(7, 7), () => 0);
        ids.forEach((id, i) => table.heard({ id, ip: "10.0.0.1", port: i + 1 }, true));
        expect(table.size).toBeLessThanOrEqual(160 * K);
        const c = table.closest(target, 8);
        for (let i = 1; i < c.length; i++) expect(compareDistance(target, c[i - 1]!.id, c[i]!.id)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it("property: idInBucket shares exactly that prefix", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(159), (self, r, bits) => {
        expect(sharedPrefixBits(self, idInBucket(self, bits, r))).toBe(bits);
      }),
    );
  });
});

describe("lookup", () => {
  it("asks ALPHA at a time, converges on the closest and ends", () => {
    const target = idOf(0xff);
    // A little network: node i knows nodes i+1..i+3; higher i is closer to the target.
    const ids = Array.from({ length: 40 }, (_, i) => idOf(i * 6));
    const addr = (i: number) => ({ ip: "10.0.0.1", port: 1000 + i });
    const l = new Lookup(target, [addr(0)], idOf(1, 2, 3));
    let rounds = 0;
    while (!l.done() && rounds++ < 500) {
      const ask = l.next();
      expect(ask.length).toBeLessThanOrEqual(3);
      for (const a of ask) {
        const i = a.port - 1000;
        l.answered(a, ids[i]!, [1, 2, 3].filter((d) => i + d < ids.length).map((d) => ({ id: ids[i + d]!, ...addr(i + d) })), Uint8Array.of(i));
      }
    }
    expect(l.done()).toBe(true);
    const best = l.closestAnswered();
    expect(best.length).toBe(LOOKUP_K);
    expect(best[0]!.port).toBe(1039);
    expect(best[0]!.token).toEqual(Uint8Array.of(39));
  });

  it("ends when every node fails", () => {
    const l = new Lookup(idOf(1), [{ ip: "10.0.0.1", port: 1 }, { ip: "10.0.0.2", port: 1 }], idOf(2));
    for (const a of l.next()) l.failed(a);
    expect(l.done()).toBe(true);
    expect(l.closestAnswered()).toEqual([]);
  });
});

describe("tokens, peer store and rate limits", () => {
  it("a token is valid for its IP for one to two rotations", () => {
    let now = 0;
    let n = 0;
    const secret = new TokenSecret((k) => new Uint8Array(k).fill(++n), () => now, 1000);
    const token = secret.tokenFor("10.0.0.1");
    expect(secret.valid("10.0.0.1", token)).toBe(true);
    expect(secret.valid("10.0.0.2", token)).toBe(false);
    now = 1500;
    expect(secret.valid("10.0.0.1", token)).toBe(true);
    now = 2600;
    expect(secret.valid("10.0.0.1", token)).toBe(false);
  });

  it("the peer store is bounded per torrent and in torrents, and forgets after the TTL", () => {
    let now = 0;
    const store = new PeerStore(() => now, { maxTorrents: 2, maxPeersPerTorrent: 3, peerTtlMs: 100 });
    for (let i = 0; i < 5; i++) store.add(idOf(1), { ip: "10.0.0.1", port: 1 + i });
    expect(store.get(idOf(1), 10).map((p) => p.port)).toEqual([5, 4, 3]);
    store.add(idOf(2), { ip: "10.0.0.1", port: 1 });
    store.add(idOf(3), { ip: "10.0.0.1", port: 1 });
    expect(store.torrentCount).toBe(2);
    expect(store.get(idOf(1), 10)).toEqual([]);
    now = 200;
    expect(store.get(idOf(3), 10)).toEqual([]);
  });

  it("one flooding source does not use up another's allowance, and sources tracked are bounded", () => {
    const limiter = new PerSourceLimiter(10, 20, 3, () => 0);
    let allowed = 0;
    for (let i = 0; i < 1000; i++) if (limiter.allow("10.0.0.1")) allowed++;
    expect(allowed).toBe(20);
    expect(limiter.allow("10.0.0.2")).toBe(true);
    for (let i = 0; i < 100; i++) limiter.allow(`10.1.0.${i}`);
    expect(limiter.allow("10.2.0.1")).toBe(true);
  });
});
