import { describe, expect, it } from "vitest";
import { CoordinationError } from "@shoal/coordination";
import { ShoalError } from "@shoal/errors";
import { failureLogLine, rebuildFailure } from "../src/failure-record.js";

describe("failure record", () => {
  it("round-trips a ShoalError with its code, context, retryable flag and cause", () => {
    const cause = new CoordinationError("BACKEND_UNAVAILABLE", "redis.claim: Redis unavailable", { retryable: true, context: { op: "redis.claim" } });
    const error = new CoordinationError("INVARIANT_BROKEN", "piece 3 stored twice", { context: { piece: 3, holders: ["w1", "w2"] }, cause });
    const rebuilt = rebuildFailure("piece 3 stored twice", [failureLogLine(error)]);
    expect(rebuilt).toBeInstanceOf(ShoalError);
    expect((rebuilt as ShoalError).toJSON()).toEqual(error.toJSON());
  });

  it("keeps the name and message of an error that is no ShoalError", () => {
    const error = new TypeError("cannot read properties of undefined");
    const rebuilt = rebuildFailure(error.message, [failureLogLine(error)]);
    expect(rebuilt).not.toBeInstanceOf(ShoalError);
    expect(rebuilt).toMatchObject({ name: "TypeError", message: "cannot read properties of undefined" });
  });

  it("takes the newest line whose message is the failure reason, and skips lines that are not records", () => {
    const older = new CoordinationError("QUEUE_CLOSED", "same message", { context: { n: 1 } });
    const newer = new CoordinationError("QUEUE_CLOSED", "same message", { context: { n: 2 } });
    const other = new CoordinationError("BACKEND_UNAVAILABLE", "a later try failed otherwise", { retryable: true });
    const newestFirst = [failureLogLine(other), "shoal-error {not json", "downloaded 3 of 10 pieces", failureLogLine(newer), failureLogLine(older)];
    expect(rebuildFailure("same message", newestFirst)).toMatchObject({ code: "QUEUE_CLOSED", context: { n: 2 } });
  });

  it("falls back to a plain error carrying the failure reason when no line matches it", () => {
    const stale = new CoordinationError("QUEUE_CLOSED", "an earlier try", {});
    const rebuilt = rebuildFailure("job stalled more than allowable limit", [failureLogLine(stale)]);
    expect(rebuilt).not.toBeInstanceOf(ShoalError);
    expect(rebuilt.message).toBe("job stalled more than allowable limit");
  });
});
