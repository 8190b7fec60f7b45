import { describe, expect, it } from "vitest";
import { WEB_SEED_BACKOFF_MAX_MS, WEB_SEED_RETIRE_AFTER_FAILURES, WEB_SEED_RETIRE_MS, WebSeedHealth } from "../src/web-seed-health.js";

describe("web seed back-off", () => {
  it("doubles the wait after each failure in a row and resets on success", () => {
    const h = new WebSeedHealth();
    expect(h.failed(0)).toBe(1000);
    expect(h.usable(999)).toBe(false);
    expect(h.usable(1000)).toBe(true);
    expect(h.failed(1000)).toBe(2000);
    expect(h.failed(3000)).toBe(4000);
    expect(h.state(3500)).toBe("backing_off");
    h.succeeded();
    expect(h.usable(3500)).toBe(true);
    expect(h.failed(4000)).toBe(1000);
  });

  it("retires a web seed that keeps failing, and retires it again at the next failure after its rest", () => {
    const h = new WebSeedHealth();
    let now = 0;
    for (let i = 1; i < WEB_SEED_RETIRE_AFTER_FAILURES; i++) now += Math.min(h.failed(now), WEB_SEED_BACKOFF_MAX_MS);
    expect(h.failed(now)).toBe(WEB_SEED_RETIRE_MS);
    expect(h.state(now + 1)).toBe("retired");
    expect(h.usable(now + WEB_SEED_RETIRE_MS)).toBe(true);
    expect(h.failed(now + WEB_SEED_RETIRE_MS)).toBe(WEB_SEED_RETIRE_MS);
  });

  it("a banned web seed is never usable again", () => {
    const h = new WebSeedHealth();
    h.ban();
    h.succeeded();
    expect(h.usable(1e12)).toBe(false);
    expect(h.state(0)).toBe("banned");
  });
});
