import { describe, expect, it } from "vitest";
import { CoordinationError } from "@shoal/coordination";
import { Inbox } from "@shoal/contract-tests";
import { ShoalError } from "@shoal/errors";
import { respCommand } from "@shoal/testkit";
import { aborted, jobData, progress, queueFixture, rejectionOf, resultFor } from "./fixture.js";

// Each BullJobQueue has its own Redis connections, so two instances behave as two processes.
const fx = queueFixture();

/** A ShoalError subclass as another package would define it. */
class TrackerError extends ShoalError<"ALL_TRACKERS_FAILED" | "BAD_TORRENT"> {
  static override readonly name = "TrackerError";
}

describe("BullJobQueue across instances", () => {
  it("runs a job added by one instance in another, and a third sees its progress and result", async () => {
    const submitter = fx.open();
    const worker = fx.open();
    const watcher = fx.open();
    const events = new Inbox<{ kind: string; jobId: string; value: unknown }>();
    watcher.on({
      progress: (jobId, value) => events.push({ kind: "progress", jobId, value }),
      completed: (jobId, value) => events.push({ kind: "completed", jobId, value }),
    });
    const ran = new Inbox<string>();
    await worker.process(async (data, context) => {
      ran.push(context.jobId);
      await context.reportProgress(progress(3));
      await context.reportProgress(progress(9));
      return resultFor(data);
    });
    const jobId = await submitter.add(jobData("shared"), { jobId: "ih-shared" });
    expect(jobId).toBe("ih-shared");
    expect(await watcher.waitUntilFinished(jobId)).toEqual(resultFor(jobData("shared")));
    await events.until((items) => items.some((e) => e.kind === "completed"), "the completed event at the watcher");
    expect(events.items).toEqual([
      { kind: "progress", jobId, value: progress(3) },
      { kind: "progress", jobId, value: progress(9) },
      { kind: "completed", jobId, value: resultFor(jobData("shared")) },
    ]);
    expect(ran.items).toEqual([jobId]);

    // What an operator's tooling shows: the submission as data, the last progress, the result.
    const job = await fx.tooling().getJob(jobId);
    expect(job?.name).toBe("torrent");
    expect(job?.data).toEqual(jobData("shared"));
    expect(job?.progress).toEqual(progress(9));
    expect(job?.returnvalue).toEqual(resultFor(jobData("shared")));
    expect(await job?.getState()).toBe("completed");

    // An instance that comes later still gets the result of the finished job.
    expect(await fx.open().waitUntilFinished(jobId)).toEqual(resultFor(jobData("shared")));
  });

  it("adds a job once per jobId: a second add keeps the first submission", async () => {
    const a = fx.open();
    const b = fx.open();
    expect(await a.add(jobData("first"), { jobId: "ih-once" })).toBe("ih-once");
    expect(await b.add(jobData("second"), { jobId: "ih-once" })).toBe("ih-once");
    const tooling = fx.tooling();
    expect(await tooling.getJobCounts("waiting")).toEqual({ waiting: 1 });
    expect((await tooling.getJob("ih-once"))?.data).toEqual(jobData("first"));
  });

  it("refuses a jobId BullMQ cannot hold, naming the rule", async () => {
    const queue = fx.open();
    for (const jobId of ["42", "a:b", ""]) {
      const err = await rejectionOf(queue.add(jobData("bad-id"), { jobId }));
      expect(err).toBeInstanceOf(CoordinationError);
      expect((err as CoordinationError).code).toBe("INVARIANT_BROKEN");
      expect(err.message).toContain(JSON.stringify(jobId));
    }
  });

  it("carries a ShoalError to a waiter in another instance, with its message as BullMQ's failure reason", async () => {
    const worker = fx.open();
    const waiter = fx.open();
    const failures = new Inbox<Error>();
    waiter.on({ failed: (_jobId, error) => failures.push(error) });
    await worker.process(async () => {
      throw new TrackerError("BAD_TORRENT", "not a torrent: bad bencode at byte 0", { context: { byte: 0, source: "url" } });
    });
    const jobId = await fx.open().add(jobData("bad-torrent"), { jobId: "ih-bad" });
    const err = await rejectionOf(waiter.waitUntilFinished(jobId));
    expect(err).toBeInstanceOf(ShoalError);
    expect(err).toMatchObject({
      name: "TrackerError",
      code: "BAD_TORRENT",
      message: "not a torrent: bad bencode at byte 0",
      retryable: false,
      context: { byte: 0, source: "url" },
    });
    const [heard] = await failures.count(1, "the failed event");
    expect(heard).toMatchObject({ name: "TrackerError", code: "BAD_TORRENT", context: { byte: 0, source: "url" } });

    const job = await fx.tooling().getJob(jobId);
    expect(job?.failedReason).toBe("not a torrent: bad bencode at byte 0");
    // retryable false: failed on the first try although the queue allows three.
    expect(job?.attemptsMade).toBe(1);
    // The same error again for a waiter that comes after the end.
    expect(await rejectionOf(fx.open().waitUntilFinished(jobId))).toMatchObject({ name: "TrackerError", code: "BAD_TORRENT" });
  });

  it("retries a retryable error per the policy and ends with the last try's error", async () => {
    const worker = fx.open({ attempts: 3, backoffType: "fixed", backoffDelayMs: 50 });
    const tries = new Inbox<number>();
    await worker.process(async () => {
      tries.push(tries.items.length + 1);
      throw new TrackerError("ALL_TRACKERS_FAILED", `every tracker refused, try ${tries.items.length}`, { retryable: true });
    });
    const jobId = await worker.add(jobData("retries"));
    const err = await rejectionOf(fx.open().waitUntilFinished(jobId));
    expect(err).toMatchObject({ name: "TrackerError", code: "ALL_TRACKERS_FAILED", message: "every tracker refused, try 3", retryable: true });
    expect(tries.items).toEqual([1, 2, 3]);
    expect((await fx.tooling().getJob(jobId))?.attemptsMade).toBe(3);
  });

  it("cancel in one instance aborts the handler running in another, and the job fails as cancelled", async () => {
    const worker = fx.open();
    const canceller = fx.open();
    const started = new Inbox<AbortSignal>();
    await worker.process(async (_data, context) => {
      started.push(context.signal);
      await aborted(context.signal);
      // What a handler typically throws when its downloads are aborted.
      throw new DOMException("This operation was aborted", "AbortError");
    });
    const jobId = await canceller.add(jobData("cancel-active"), { jobId: "ih-cancel" });
    const [signal] = await started.count(1, "the handler to start");
    const finished = rejectionOf(canceller.waitUntilFinished(jobId));
    await canceller.cancel(jobId);
    await aborted(signal!);
    expect(signal!.reason).toMatchObject({ name: "CoordinationError", code: "QUEUE_CLOSED", message: `job ${jobId} cancelled` });
    expect(await finished).toMatchObject({ name: "CoordinationError", code: "QUEUE_CLOSED", message: `job ${jobId} cancelled` });
    const job = await fx.tooling().getJob(jobId);
    expect(job?.failedReason).toBe(`job ${jobId} cancelled`);
    expect(await job?.getState()).toBe("failed");
  });

  it("a cancel whose message a worker missed still reaches its handler through the periodic mark read", async () => {
    const worker = fx.open({ cancelPollIntervalMs: 200 });
    const started = new Inbox<AbortSignal>();
    await worker.process(async (_data, context) => {
      started.push(context.signal);
      await aborted(context.signal);
      throw context.signal.reason;
    });
    const jobId = await worker.add(jobData("missed-cancel"), { jobId: "ih-missed" });
    const [signal] = await started.count(1, "the handler to start");
    // The mark cancel leaves on a running job, written without the message that goes with it.
    await respCommand(fx.redis().url, ["HSET", `${fx.prefix()}:torrents:${jobId}`, "defa", `job ${jobId} cancelled`]);
    await aborted(signal!);
    expect(await rejectionOf(worker.waitUntilFinished(jobId))).toMatchObject({ code: "QUEUE_CLOSED", message: `job ${jobId} cancelled` });
  });

  it("cancel of a job waiting for its retry fails it at once", async () => {
    const worker = fx.open({ attempts: 2, backoffType: "fixed", backoffDelayMs: 60_000 });
    const tries = new Inbox<string>();
    await worker.process(async (_data, context) => {
      tries.push(context.jobId);
      throw new Error("tracker unreachable");
    });
    const jobId = await worker.add(jobData("cancel-delayed"));
    await tries.count(1, "the first try");
    const tooling = fx.tooling();
    const job = await tooling.getJob(jobId);
    // The back-off is a minute: the job waits in the delayed set for its second try.
    await expect.poll(() => job!.getState(), { timeout: 5_000 }).toBe("delayed");
    await fx.open().cancel(jobId);
    expect(await rejectionOf(worker.waitUntilFinished(jobId))).toMatchObject({ code: "QUEUE_CLOSED", message: `job ${jobId} cancelled` });
    expect(await tooling.getJobState(jobId)).toBe("failed");
    expect(tries.items).toEqual([jobId]);
  });

  it("closing a processor hands its running job back, and another instance finishes it", async () => {
    const leaving = fx.open();
    const staying = fx.open();
    const started = new Inbox<AbortSignal>();
    const processor = await leaving.process(async (_data, context) => {
      started.push(context.signal);
      await aborted(context.signal);
      throw context.signal.reason;
    });
    const jobId = await staying.add(jobData("handover"), { jobId: "ih-handover" });
    const [signal] = await started.count(1, "the handler to start");
    await processor.close();
    expect(signal!.reason).toMatchObject({ message: "processor closing" });
    const tooling = fx.tooling();
    expect(await tooling.getJobState(jobId)).toBe("waiting");

    await staying.process(async (data) => resultFor(data));
    expect(await staying.waitUntilFinished(jobId)).toEqual(resultFor(jobData("handover")));
    const job = await tooling.getJob(jobId);
    // The hand-back spent no try: only the completion counts.
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBeUndefined();
  });

  it("closing the queue rejects pending waiters and later calls with QUEUE_CLOSED, and leaves no connection open", async () => {
    const clients = async (): Promise<number> => String(await respCommand(fx.redis().url, ["CLIENT", "LIST"])).trim().split("\n").length;
    // Only the connection asking: earlier tests closed everything they opened.
    await expect.poll(clients, { timeout: 5_000 }).toBe(1);
    const queue = fx.open();
    queue.on({ completed: () => undefined });
    const processor = await queue.process(async (data) => resultFor(data));
    const done = await queue.add(jobData("finished"));
    await queue.waitUntilFinished(done);
    // Commands, the event reader, the worker's two and the cancel subscriber, plus the asker.
    expect(await clients()).toBe(6);
    await processor.close();
    const jobId = await queue.add(jobData("never-processed"));
    const pending = rejectionOf(queue.waitUntilFinished(jobId));
    await queue.close();
    expect(await pending).toMatchObject({ name: "CoordinationError", code: "QUEUE_CLOSED" });
    await expect.poll(clients, { timeout: 5_000 }).toBe(1);
    const calls: Record<string, () => Promise<unknown>> = {
      add: () => queue.add(jobData("late")),
      process: () => queue.process(async (data) => resultFor(data)),
      waitUntilFinished: () => queue.waitUntilFinished(jobId),
      cancel: () => queue.cancel(jobId),
      on: async () => queue.on({}),
    };
    for (const [name, call] of Object.entries(calls)) {
      expect(await rejectionOf(call()), name).toMatchObject({ name: "CoordinationError", code: "QUEUE_CLOSED" });
    }
    await queue.close();
  });
});
