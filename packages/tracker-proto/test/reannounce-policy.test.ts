import { describe, expect, it } from "vitest";
import {
  ANNOUNCE_BACKOFF_MAX_MS,
  ANNOUNCE_REFUSED_MIN_DELAY_MS,
  afterAnnounceFailure,
  afterAnnounceSuccess,
  backoffDelayMs,
  earliestExtraAnnounceAtMs,
  initialReannounceState,
} from "@shoal/tracker-proto";

describe("re-announce policy", () => {
  it("announces at once first, then at the tracker's interval", () => {
    let state = initialReannounceState(1000);
    expect(state.nextAnnounceAtMs).toBe(1000);
    state = afterAnnounceSuccess(state, 2000, { interval: 1800, minInterval: 900 });
    expect(state.nextAnnounceAtMs).toBe(2000 + 1_800_000);
    expect(earliestExtraAnnounceAtMs(state)).toBe(2000 + 900_000);
  });

  it("uses a default minimum interval no longer than the interval", () => {
    const state = afterAnnounceSuccess(initialReannounceState(0), 0, { interval: 60 });
    expect(state.minIntervalMs).toBe(60_000);
    expect(earliestExtraAnnounceAtMs(afterAnnounceSuccess(initialReannounceState(0), 0, { interval: 3600 }))).toBe(120_000);
  });

  it("backs off exponentially from 15 s to 30 min and resets on success", () => {
    let state = initialReannounceState(0);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      state = afterAnnounceFailure(state, 0, true);
      delays.push(state.nextAnnounceAtMs);
    }
    expect(delays.slice(0, 4)).toEqual([15_000, 30_000, 60_000, 120_000]);
    expect(delays[9]).toBe(ANNOUNCE_BACKOFF_MAX_MS);
    expect(earliestExtraAnnounceAtMs(state)).toBe(ANNOUNCE_BACKOFF_MAX_MS);
    state = afterAnnounceSuccess(state, 10, { interval: 60 });
    expect(state.failures).toBe(0);
  });

  it("waits at least 5 min after a refusal", () => {
    expect(backoffDelayMs(1, false)).toBe(ANNOUNCE_REFUSED_MIN_DELAY_MS);
    expect(backoffDelayMs(20, false)).toBe(ANNOUNCE_BACKOFF_MAX_MS);
  });
});
