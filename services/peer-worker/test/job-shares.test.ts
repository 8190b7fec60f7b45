import { describe, expect, it } from "vitest";
import { JobShares } from "../src/job-shares.js";

const IH = "ab".repeat(20);

describe("JobShares", () => {
  it("splits a job's limits equally over the workers heard from, and gives a silent worker's share back", () => {
    let t = 0;
    const shares = new JobShares("me", () => t);
    const s = shares.open(IH, { downloadBytesPerSec: 3_000_000, uploadBytesPerSec: 0 })!;
    expect(s.download.bytesPerSecond).toBe(3_000_000);
    expect(s.upload.unlimited).toBe(true);
    shares.heard(IH, "w2");
    shares.heard(IH, "w3");
    shares.heard(IH, "me");
    expect(shares.workersOn(IH)).toBe(3);
    expect(s.download.bytesPerSecond).toBe(1_000_000);
    t = 4_000;
    shares.heard(IH, "w2");
    t = 6_000;
    shares.rebalance();
    // w3 has been silent for 6 s: two workers left.
    expect(s.download.bytesPerSecond).toBe(1_500_000);
  });

  it("has nothing to share for a job without limits, and keeps a tiny limit above zero", () => {
    const shares = new JobShares("me", () => 0);
    expect(shares.open(IH, { downloadBytesPerSec: 0, uploadBytesPerSec: 0 })).toBeUndefined();
    const s = shares.open(IH, { downloadBytesPerSec: 2, uploadBytesPerSec: 0 })!;
    for (let i = 0; i < 5; i++) shares.heard(IH, `w${i}`);
    expect(s.download.bytesPerSecond).toBe(1);
    expect(s.download.unlimited).toBe(false);
  });
});
