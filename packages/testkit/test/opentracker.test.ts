import { afterEach, describe, expect, it } from "vitest";
import { announceProbe, startOpentracker } from "../src/index.js";
import type { Opentracker } from "../src/index.js";

const HASH_A = "aa".repeat(20);
const HASH_B = "bb".repeat(20);

describe("opentracker", () => {
  let tracker: Opentracker | undefined;
  afterEach(async () => {
    await tracker?.stop();
    tracker = undefined;
  });

  it("serves whitelisted info hashes only, and more after allow()", async () => {
    tracker = await startOpentracker({ infoHashes: [HASH_A] });
    const refused = await announceProbe(tracker.httpAnnounce, HASH_B, { event: "started" });
    expect(refused.failure).toMatch(/not authorized/);
    await expect(tracker.peersOf(HASH_B)).rejects.toMatchObject({ code: "RPC_FAILED" });

    await tracker.allow([HASH_B.toUpperCase()]);
    expect(await tracker.peersOf(HASH_B)).toEqual([]);
  });

  it("lists announced peers by the address they connect from, and forgets them after 'stopped'", async () => {
    tracker = await startOpentracker({ infoHashes: [HASH_A] });
    await announceProbe(tracker.httpAnnounce, HASH_A, { event: "started", port: 7001, left: 0, localAddress: "127.0.0.41" });
    await announceProbe(tracker.httpAnnounce, HASH_A, { event: "started", port: 7002, left: 0, localAddress: "127.0.0.42" });
    expect((await tracker.peersOf(HASH_A)).sort()).toEqual(["127.0.0.41:7001", "127.0.0.42:7002"]);

    await announceProbe(tracker.httpAnnounce, HASH_A, { event: "stopped", port: 7001, localAddress: "127.0.0.41" });
    expect(await tracker.peersOf(HASH_A)).toEqual(["127.0.0.42:7002"]);
  });

  it("restarts on the same port with empty peer lists", async () => {
    tracker = await startOpentracker({ infoHashes: [HASH_A] });
    const { port, pid } = tracker;
    await announceProbe(tracker.httpAnnounce, HASH_A, { event: "started", port: 7003, left: 0, localAddress: "127.0.0.43" });
    await tracker.restart();
    expect(tracker.port).toBe(port);
    expect(tracker.pid).not.toBe(pid);
    expect(await tracker.peersOf(HASH_A)).toEqual([]);
    expect(tracker.udpAnnounce).toBe(`udp://127.0.0.1:${port}/announce`);
  });
});
