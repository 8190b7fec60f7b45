import { describe, expect, it } from "vitest";
import { CoordinationError } from "@shoal/coordination";
import { jobData, queueFixture, rejectionOf } from "./fixture.js";

const fx = queueFixture();
const OPERATION_TIMEOUT_MS = 1_000;
/** Scheduling slack on two busy cores; a hang would take the test runner's whole timeout. */
const SLACK_MS = 1_500;

describe("BullJobQueue while Redis is down", () => {
  it("add, cancel and waitUntilFinished fail within their deadline with BACKEND_UNAVAILABLE, and work once Redis is back", async () => {
    const queue = fx.open({ operationTimeoutMs: OPERATION_TIMEOUT_MS });
    const jobId = await queue.add(jobData("before"), { jobId: "ih-before" });
    await fx.redis().kill9();

    const calls: Record<string, () => Promise<unknown>> = {
      add: () => queue.add(jobData("during"), { jobId: "ih-during" }),
      cancel: () => queue.cancel(jobId),
      waitUntilFinished: () => fx.open({ operationTimeoutMs: OPERATION_TIMEOUT_MS }).waitUntilFinished(jobId),
    };
    for (const [name, call] of Object.entries(calls)) {
      const started = Date.now();
      const err = await rejectionOf(call());
      expect(err, name).toBeInstanceOf(CoordinationError);
      expect(err, name).toMatchObject({ code: "BACKEND_UNAVAILABLE", retryable: true });
      expect(Date.now() - started, `${name} took`).toBeLessThan(OPERATION_TIMEOUT_MS + SLACK_MS);
    }

    await fx.redis().restart();
    // The client reconnects on its own schedule (at most 2 s apart); a retry after it succeeds.
    await expect
      .poll(() => queue.add(jobData("after"), { jobId: "ih-after" }).then(
        (id) => id,
        (err: unknown) => (err as Error).message,
      ), { timeout: 10_000, interval: 200 })
      .toBe("ih-after");
    expect(await fx.tooling().getJobState("ih-after")).toBe("waiting");
  });
});
