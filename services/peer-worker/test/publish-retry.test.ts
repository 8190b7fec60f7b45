import { describe, expect, it } from "vitest";
import { CoordinationError } from "@shoal/coordination";
import { publishWithRetry } from "../src/publish-retry.js";

const unavailable = () => new CoordinationError("BACKEND_UNAVAILABLE", "disconnected from NATS, reconnecting", { retryable: true });

/** A fake clock that the injected sleep moves on, so no test waits. */
function clock() {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
  };
}

describe("publishWithRetry", () => {
  it("sends again while the bus is unavailable, waiting longer each time, until it takes the message", async () => {
    const c = clock();
    let tries = 0;
    const retried: unknown[] = [];
    await publishWithRetry(
      async () => {
        if (++tries < 6) throw unavailable();
      },
      { giveUpAfterMs: 60_000, stopped: () => false, now: c.now, sleep: c.sleep, onRetry: (err) => retried.push(err) },
    );
    expect(tries).toBe(6);
    expect(c.waits).toEqual([250, 500, 1000, 2000, 4000]);
    expect(retried).toHaveLength(1);
  });

  it("gives up with the last error once the deadline would pass", async () => {
    const c = clock();
    let tries = 0;
    const err = unavailable();
    await expect(
      publishWithRetry(
        async () => {
          tries++;
          throw err;
        },
        { giveUpAfterMs: 10_000, stopped: () => false, now: c.now, sleep: c.sleep },
      ),
    ).rejects.toBe(err);
    expect(c.now()).toBeLessThanOrEqual(10_000);
    expect(tries).toBe(c.waits.length + 1);
  });

  it("does not try again after an error that retrying cannot fix, nor once stopped", async () => {
    const c = clock();
    const tooLarge = new CoordinationError("PAYLOAD_TOO_LARGE", "message too large", { retryable: false });
    await expect(publishWithRetry(() => Promise.reject(tooLarge), { giveUpAfterMs: 60_000, stopped: () => false, now: c.now, sleep: c.sleep })).rejects.toBe(tooLarge);
    await expect(publishWithRetry(() => Promise.reject(unavailable()), { giveUpAfterMs: 60_000, stopped: () => true, now: c.now, sleep: c.sleep })).rejects.toMatchObject({
      code: "BACKEND_UNAVAILABLE",
    });
    expect(c.waits).toEqual([]);
  });
});
