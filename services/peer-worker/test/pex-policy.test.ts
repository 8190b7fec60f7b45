import { describe, expect, it } from "vitest";
import { PEX_FLAGS, type PexAdded } from "@shoal/wire";
import { isOwnAddress } from "../src/own-addresses.js";
import {
  MAX_PEX_PAYLOAD_BYTES,
  PEX_MAX_PEERS_PER_LIST,
  PEX_MIN_RECEIVE_INTERVAL_MS,
  learnedPeers,
  pexDelta,
  pexReceiveVerdict,
} from "../src/pex-policy.js";

const peer = (i: number, flags = 0): PexAdded => ({ ip: `10.1.${i >> 8}.${i & 0xff}`, port: 6881, flags });
const byKey = (peers: readonly PexAdded[]) => new Map(peers.map((p) => [`${p.ip}:${p.port}`, p]));
const notOwn = { isOwnAddress: () => false, complete: false };

describe("reading a peer's PEX message", () => {
  it("reads the first message, then none until the interval has passed", () => {
    expect(pexReceiveVerdict(100, undefined, 1_000)).toBe("read");
    expect(pexReceiveVerdict(100, 1_000, 1_000 + PEX_MIN_RECEIVE_INTERVAL_MS - 1)).toBe("too_frequent");
    expect(pexReceiveVerdict(100, 1_000, 1_000 + PEX_MIN_RECEIVE_INTERVAL_MS)).toBe("read");
  });

  it("ignores a payload over the size cap whatever its timing", () => {
    expect(pexReceiveVerdict(MAX_PEX_PAYLOAD_BYTES + 1, undefined, 0)).toBe("too_large");
    expect(pexReceiveVerdict(MAX_PEX_PAYLOAD_BYTES, undefined, 0)).toBe("read");
  });

  it("honours the first 50 added peers of a message and no more", () => {
    const added = Array.from({ length: 80 }, (_, i) => peer(i));
    const got = learnedPeers({ added, dropped: [] }, notOwn);
    expect(got).toHaveLength(PEX_MAX_PEERS_PER_LIST);
    expect(got).toEqual(added.slice(0, 50));
  });

  it("leaves out our own address, repeats and addresses nobody can dial", () => {
    const own = (ip: string, port: number) => ip === "127.0.0.1" && port === 7000;
    const got = learnedPeers(
      {
        added: [
          { ip: "127.0.0.1", port: 7000, flags: 0 },
          { ip: "127.0.0.1", port: 7001, flags: 0 },
          { ip: "127.0.0.1", port: 7001, flags: 0 },
          { ip: "0.0.0.0", port: 7002, flags: 0 },
          { ip: "255.255.255.255", port: 7002, flags: 0 },
          { ip: "239.1.2.3", port: 7002, flags: 0 },
          { ip: "::", port: 7002, flags: 0 },
          { ip: "ff02::1", port: 7002, flags: 0 },
          { ip: "2001:db8::1", port: 7003, flags: 0 },
        ],
        dropped: [],
      },
      { isOwnAddress: own, complete: false },
    );
    expect(got.map((p) => `${p.ip}:${p.port}`)).toEqual(["127.0.0.1:7001", "2001:db8::1:7003"]);
  });

  it("does not take seeds once we are complete, and does while downloading", () => {
    const msg = { added: [peer(1, PEX_FLAGS.seed), peer(2, PEX_FLAGS.encryption)], dropped: [] };
    expect(learnedPeers(msg, notOwn)).toHaveLength(2);
    expect(learnedPeers(msg, { ...notOwn, complete: true })).toEqual([peer(2, PEX_FLAGS.encryption)]);
  });
});

describe("what we tell a peer", () => {
  it("first lists what we are connected to, at most 50, and the rest in the next message", () => {
    const current = byKey(Array.from({ length: 70 }, (_, i) => peer(i)));
    const advertised = new Map<string, PexAdded>();
    const first = pexDelta(advertised, current);
    expect(first.added).toHaveLength(50);
    expect(first.dropped).toEqual([]);
    for (const p of first.added) advertised.set(`${p.ip}:${p.port}`, p);
    const second = pexDelta(advertised, current);
    expect(second.added).toEqual([...current.values()].slice(50));
  });

  it("then only what changed: new connections added, closed ones dropped, at most 50 each", () => {
    const advertised = byKey(Array.from({ length: 60 }, (_, i) => peer(i)));
    const current = byKey([peer(0), peer(100), peer(101)]);
    const d = pexDelta(advertised, current);
    expect(d.added).toEqual([peer(100), peer(101)]);
    expect(d.dropped).toHaveLength(50);
    expect(d.dropped[0]).toEqual({ ip: peer(1).ip, port: 6881 });
    expect(pexDelta(current, current)).toEqual({ added: [], dropped: [] });
  });
});

describe("our own address", () => {
  it("is our listen port on one of our interfaces, and nothing else", () => {
    expect(isOwnAddress("127.0.0.1", 6881, 6881)).toBe(true);
    expect(isOwnAddress("::ffff:127.0.0.1", 6881, 6881)).toBe(true);
    expect(isOwnAddress("0.0.0.0", 6881, 6881)).toBe(true);
    expect(isOwnAddress("127.0.0.1", 6882, 6881)).toBe(false);
    // TEST-NET-1: documentation only, on no interface.
    expect(isOwnAddress("192.0.2.1", 6881, 6881)).toBe(false);
  });
});
