import { describe, expect, it } from "vitest";
import { SwarmTotals } from "../src/handlers/swarm-totals.js";

const report = (workerId: string, peers: number, rate: number, downloaded: number, uploaded: number) => ({
  infoHash: "ab".repeat(20),
  workerId,
  peers,
  downloadRateBytesPerSec: rate,
  uploadRateBytesPerSec: rate / 2,
  downloadedBytes: downloaded,
  uploadedBytes: uploaded,
});

describe("SwarmTotals", () => {
  it("sums the latest report of every worker", () => {
    let t = 0;
    const totals = new SwarmTotals(() => t, 5000);
    totals.update(report("a", 3, 100, 1000, 10));
    totals.update(report("b", 2, 50, 500, 5));
    totals.update(report("a", 4, 200, 3000, 20));
    const snap = totals.snapshot();
    expect(snap).toMatchObject({ peers: 6, downloadRateBytesPerSec: 250, uploadRateBytesPerSec: 125, downloadedBytes: 3500, uploadedBytes: 25 });
    // Each worker's share, the busiest first: what `shoal status` lists.
    expect(snap.workers.map((w) => [w.workerId, w.live, w.downloadedBytes, w.peers])).toEqual([
      ["a", true, 3000, 4],
      ["b", true, 500, 2],
    ]);
  });

  it("keeps the bytes of a silent worker but not its peers and rates", () => {
    let t = 0;
    const totals = new SwarmTotals(() => t, 5000);
    totals.update(report("a", 3, 100, 1000, 10));
    t = 4000;
    totals.update(report("b", 2, 50, 500, 5));
    t = 6000;
    const snap = totals.snapshot();
    expect(snap).toMatchObject({ peers: 2, downloadRateBytesPerSec: 50, uploadRateBytesPerSec: 25, downloadedBytes: 1500, uploadedBytes: 15 });
    // The silent worker is still listed with its bytes, marked not live, without peers or rates.
    expect(snap.workers.find((w) => !w.live)).toMatchObject({ peers: 0, downloadRateBytesPerSec: 0, downloadedBytes: 1000 });
  });

  it("keeps what a restarted worker moved before its counters went back to zero", () => {
    const totals = new SwarmTotals(() => 0, 5000);
    totals.update(report("a", 3, 100, 1000, 10));
    totals.update(report("a", 1, 10, 200, 0));
    expect(totals.snapshot().downloadedBytes).toBe(1200);
    expect(totals.snapshot().uploadedBytes).toBe(10);
  });
});
