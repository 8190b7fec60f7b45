import { describe, expect, it } from "vitest";
import { silentLogger } from "@shoal/service-kit";
import { AVAILABILITY_REPUBLISH_MS, AvailabilitySync } from "../src/availability-sync.js";
import { ClaimTableProbe } from "./claim-table-probe.js";

const IH = "cd".repeat(20);
const PIECES = 6;
const INTERVAL_MS = 2_000;
const LEASE_MS = 60_000;

async function rig(intervalMs = INTERVAL_MS) {
  let now = 1_000_000;
  const probe = new ClaimTableProbe(() => now);
  await probe.inner.createTorrent(IH, PIECES, []);
  for (const w of ["me", "other"]) await probe.inner.heartbeat(IH, w, LEASE_MS);
  const own = new Uint16Array(PIECES);
  const others = new Uint16Array(PIECES);
  const sync = new AvailabilitySync({ infoHash: IH, workerId: "me", intervalMs, now: () => now }, own, others, probe.table, silentLogger());
  return {
    probe,
    own,
    others,
    sync,
    async advance(ms: number) {
      now += ms;
      sync.tick();
      await probe.settle();
    },
  };
}

describe("AvailabilitySync", () => {
  it("fetches the other workers' counts at once and then once per interval", async () => {
    const r = await rig();
    await r.probe.inner.publishAvailability(IH, "other", Uint16Array.of(0, 1, 2, 0, 0, 9));
    await r.advance(0);
    expect([...r.others]).toEqual([0, 1, 2, 0, 0, 9]);
    await r.probe.inner.publishAvailability(IH, "other", Uint16Array.of(5, 5, 5, 5, 5, 5));
    await r.advance(INTERVAL_MS / 2);
    expect(r.probe.count("availability")).toBe(1);
    expect([...r.others]).toEqual([0, 1, 2, 0, 0, 9]);
    await r.advance(INTERVAL_MS / 2);
    expect(r.probe.count("availability")).toBe(2);
    expect([...r.others]).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it("publishes its own counts only when they changed, and at most once per interval", async () => {
    const r = await rig();
    await r.advance(0);
    expect(r.probe.count("publishAvailability"), "nothing to say before any peer").toBe(0);
    r.own[2] = 1;
    await r.advance(INTERVAL_MS);
    expect(r.probe.count("publishAvailability")).toBe(1);
    expect([...(await r.probe.inner.availability(IH, "other"))]).toEqual([0, 0, 1, 0, 0, 0]);
    // Changes within the interval wait for it; an unchanged vector is not sent again.
    r.own[3] = 4;
    await r.advance(INTERVAL_MS / 2);
    expect(r.probe.count("publishAvailability")).toBe(1);
    await r.advance(INTERVAL_MS / 2);
    expect(r.probe.count("publishAvailability")).toBe(2);
    for (let k = 0; k < 5; k++) await r.advance(INTERVAL_MS);
    expect(r.probe.count("publishAvailability")).toBe(2);
    expect([...(await r.probe.inner.availability(IH, "other"))]).toEqual([0, 0, 1, 4, 0, 0]);
  });

  it("publishes an unchanged vector again after a while, in case the lease sweep dropped it", async () => {
    const r = await rig();
    r.own[0] = 2;
    await r.advance(0);
    expect(r.probe.count("publishAvailability")).toBe(1);
    await r.probe.inner.withdrawAvailability(IH, "me");
    await r.advance(AVAILABILITY_REPUBLISH_MS - 1);
    expect(r.probe.count("publishAvailability")).toBe(1);
    await r.advance(1);
    expect(r.probe.count("publishAvailability")).toBe(2);
    expect([...(await r.probe.inner.availability(IH, "other"))]).toEqual([2, 0, 0, 0, 0, 0]);
  });

  it("keeps one call of each kind in flight while the table is slow", async () => {
    const r = await rig();
    r.probe.hold();
    r.own[1] = 1;
    for (let k = 0; k < 5; k++) {
      r.own[1]++;
      await r.advance(INTERVAL_MS);
    }
    expect(r.probe.count("publishAvailability")).toBe(1);
    expect(r.probe.count("availability")).toBe(1);
    r.probe.release();
    await r.probe.settle();
    // The vector sent is the one taken when the call began, then the latest on the next interval.
    expect([...(await r.probe.inner.availability(IH, "other"))]).toEqual([0, 2, 0, 0, 0, 0]);
    await r.advance(INTERVAL_MS);
    expect([...(await r.probe.inner.availability(IH, "other"))]).toEqual([0, 6, 0, 0, 0, 0]);
  });

  it("withdraws its vector when it leaves the torrent", async () => {
    const r = await rig();
    r.own[4] = 3;
    await r.advance(0);
    expect([...(await r.probe.inner.availability(IH))]).toEqual([0, 0, 0, 0, 3, 0]);
    await r.sync.close();
    expect([...(await r.probe.inner.availability(IH))]).toEqual([0, 0, 0, 0, 0, 0]);
    await r.advance(INTERVAL_MS);
    expect(r.probe.count("publishAvailability")).toBe(1);
  });

  it("asks the table nothing when turned off", async () => {
    const r = await rig(0);
    r.own[0] = 1;
    for (let k = 0; k < 3; k++) await r.advance(INTERVAL_MS);
    await r.sync.close();
    expect(r.probe.calls.size).toBe(0);
  });
});
