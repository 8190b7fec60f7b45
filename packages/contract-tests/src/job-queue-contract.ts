import { describe, expect } from "vitest";
import type { JobContext, JobProgress, JobQueue, JobResult, TorrentJobData } from "@shoal/coordination";
import { caseRegistry, type PortHarness } from "./harness.js";
import { randomId } from "./ids.js";
import { Inbox } from "./inbox.js";

/**
 * `setup` must return a queue whose policy tries a failing job at least twice without a long
 * back-off, so the suite can tell a retry from a permanent failure.
 */
export type JobQueueHarness = PortHarness<JobQueue>;

type Handler = (data: TorrentJobData, context: JobContext) => Promise<JobResult>;

const jobData = (label: string): TorrentJobData => ({
  source: { kind: "url", url: `http://127.0.0.1:1/${label}.torrent` },
  destination: `/tmp/shoal-contract/${label}`,
});

const resultFor = (data: TorrentJobData): JobResult => ({
  infoHash: "ab".repeat(20),
  name: data.destination,
  files: [{ path: "a/b.bin", length: 10 }],
  totalBytes: 10,
  uploadedBytes: 0,
  resumedPieces: 0,
  downloadedBytes: 10,
});

const progress = (storedPieces: number): JobProgress => ({
  infoHash: "ab".repeat(20),
  name: "contract",
  totalBytes: 100,
  storedBytes: storedPieces * 10,
  pieces: 10,
  storedPieces,
  peers: 3,
  downloadRateBytesPerSec: 1000,
  uploadRateBytesPerSec: 0,
  downloadedBytes: storedPieces * 10,
  uploadedBytes: 0,
});

/** An error the processor marks as permanent, as a ShoalError with `retryable: false` is. */
function permanentError(message: string): Error {
  return Object.assign(new Error(message), { retryable: false });
}

/** Resolves when `signal` aborts (at once if it already has). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the job to fail, but it completed");
}

/** Cases every JobQueue adapter must pass. */
export function jobQueueContract(harness: JobQueueHarness): void {
  describe(`JobQueue contract: ${harness.name}`, () => {
    const { scenario, done } = caseRegistry(harness);

    scenario("a job runs once and waitUntilFinished resolves with its result", async (queue) => {
      const calls = new Inbox<{ data: TorrentJobData; jobId: string }>();
      const early = await queue.add(jobData("early"));
      const handler: Handler = async (data, context) => {
        calls.push({ data, jobId: context.jobId });
        return resultFor(data);
      };
      const processor = await queue.process(handler);
      const late = await queue.add(jobData("late"), { jobId: randomId("job") });
      expect(await queue.waitUntilFinished(early)).toEqual(resultFor(jobData("early")));
      expect(await queue.waitUntilFinished(late)).toEqual(resultFor(jobData("late")));
      // A waiter that comes after the end still gets the result.
      expect(await queue.waitUntilFinished(early)).toEqual(resultFor(jobData("early")));
      expect([...calls.items].sort((a, b) => a.data.destination.localeCompare(b.data.destination))).toEqual([
        { data: jobData("early"), jobId: early },
        { data: jobData("late"), jobId: late },
      ]);
      await processor.close();
    });

    scenario("a jobId given to add names the job", async (queue) => {
      const jobId = randomId("named");
      expect(await queue.add(jobData("named"), { jobId })).toBe(jobId);
      const processor = await queue.process(async (data) => resultFor(data));
      expect(await queue.waitUntilFinished(jobId)).toEqual(resultFor(jobData("named")));
      await processor.close();
    });

    scenario("get and list show each job's state, progress, result and failure", async (queue) => {
      expect(await queue.get(randomId("unknown"))).toBeUndefined();
      const waiting = await queue.add(jobData("listed-waiting"));
      const before = await queue.get(waiting);
      expect(before).toMatchObject({ id: waiting, state: "waiting", data: jobData("listed-waiting"), attemptsMade: 0 });
      expect(before!.createdAt).toBeGreaterThan(Date.now() - 60_000);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const reported = new Inbox<string>();
      const processor = await queue.process(async (data, context) => {
        if (data.destination.endsWith("fails")) throw permanentError("bucket shoal-missing does not exist");
        await context.reportProgress(progress(3));
        reported.push(context.jobId);
        await gate;
        return resultFor(data);
      });
      await reported.until((items) => items.length > 0, "progress reported");
      const running = await queue.get(waiting);
      expect(running).toMatchObject({ state: "active", progress: progress(3), attemptsMade: 1 });
      release();
      await queue.waitUntilFinished(waiting);
      const done = await queue.get(waiting);
      expect(done).toMatchObject({ state: "completed", result: resultFor(jobData("listed-waiting")) });
      expect(done!.finishedAt).toBeGreaterThanOrEqual(done!.createdAt);
      const failing = await queue.add(jobData("listed-fails"));
      await rejection(queue.waitUntilFinished(failing));
      expect(await queue.get(failing)).toMatchObject({ state: "failed", failedReason: "bucket shoal-missing does not exist" });
      const listed = await queue.list({ limit: 10 });
      expect(listed.map((j) => j.id)).toEqual(expect.arrayContaining([waiting, failing]));
      expect((await queue.list({ limit: 1 })).length).toBe(1);
      await processor.close();
    });

    scenario("a failure with retryable false fails the job at once", async (queue) => {
      let calls = 0;
      const processor = await queue.process(async () => {
        calls++;
        throw permanentError("not a torrent: bad bencode at byte 0");
      });
      const jobId = await queue.add(jobData("permanent"));
      const err = await rejection(queue.waitUntilFinished(jobId));
      expect(err.message).toContain("not a torrent: bad bencode at byte 0");
      expect(calls).toBe(1);
      await processor.close();
    });

    scenario("a retryable failure is tried again", async (queue) => {
      const attempts = new Inbox<string>();
      const processor = await queue.process(async (data, context) => {
        attempts.push(context.jobId);
        if (attempts.items.length === 1) throw Object.assign(new Error("tracker unreachable"), { retryable: true });
        return resultFor(data);
      });
      const jobId = await queue.add(jobData("retry"));
      expect(await queue.waitUntilFinished(jobId)).toEqual(resultFor(jobData("retry")));
      expect(attempts.items).toEqual([jobId, jobId]);
      await processor.close();
    });

    scenario("progress, completion and failure reach the listeners until they unsubscribe", async (queue) => {
      const events = new Inbox<{ kind: string; jobId: string; value: unknown }>();
      const off = queue.on({
        progress: (jobId, value) => events.push({ kind: "progress", jobId, value }),
        completed: (jobId, value) => events.push({ kind: "completed", jobId, value }),
        failed: (jobId, value) => events.push({ kind: "failed", jobId, value: value.message }),
      });
      const laterListener = new Inbox<string>();
      queue.on({ completed: (jobId) => laterListener.push(jobId) });
      const processor = await queue.process(async (data, context) => {
        if (data.destination.endsWith("fails")) throw permanentError("destination not writable");
        await context.reportProgress(progress(1));
        await context.reportProgress(progress(2));
        return resultFor(data);
      });
      const ok = await queue.add(jobData("succeeds"));
      await queue.waitUntilFinished(ok);
      const bad = await queue.add(jobData("fails"));
      await rejection(queue.waitUntilFinished(bad));
      await events.until((items) => items.some((e) => e.kind === "failed"), "the failed event");
      expect(events.items.filter((e) => e.jobId === ok)).toEqual([
        { kind: "progress", jobId: ok, value: progress(1) },
        { kind: "progress", jobId: ok, value: progress(2) },
        { kind: "completed", jobId: ok, value: resultFor(jobData("succeeds")) },
      ]);
      expect(events.items.filter((e) => e.jobId === bad)).toEqual([{ kind: "failed", jobId: bad, value: expect.stringContaining("destination not writable") }]);

      off();
      const after = await queue.add(jobData("after-off"));
      await queue.waitUntilFinished(after);
      await laterListener.until((items) => items.includes(after), "the completed event on the other listener");
      expect(events.items.some((e) => e.jobId === after)).toBe(false);
      await processor.close();
    });

    scenario("cancel aborts the running handler's signal and waitUntilFinished rejects", async (queue) => {
      const started = new Inbox<AbortSignal>();
      const processor = await queue.process(async (_data, context) => {
        started.push(context.signal);
        await aborted(context.signal);
        throw context.signal.reason instanceof Error ? context.signal.reason : new Error("cancelled");
      });
      const jobId = await queue.add(jobData("cancelled"));
      const [signal] = await started.count(1, "the handler to start");
      expect(signal!.aborted).toBe(false);
      const finished = rejection(queue.waitUntilFinished(jobId));
      await queue.cancel(jobId);
      await finished;
      expect(signal!.aborted).toBe(true);
      await processor.close();
    });

    scenario("cancelling a job no processor took yet fails it and it never runs", async (queue) => {
      const cancelled = await queue.add(jobData("never-runs"));
      await queue.cancel(cancelled);
      await rejection(queue.waitUntilFinished(cancelled));
      const ran = new Inbox<string>();
      const processor = await queue.process(async (data, context) => {
        ran.push(context.jobId);
        return resultFor(data);
      });
      const fence = await queue.add(jobData("fence"));
      await queue.waitUntilFinished(fence);
      expect(ran.items).toEqual([fence]);
      await processor.close();
    });

    scenario("closing the processor aborts the running handlers", async (queue) => {
      const started = new Inbox<AbortSignal>();
      const processor = await queue.process(async (_data, context) => {
        started.push(context.signal);
        await aborted(context.signal);
        throw new Error("processor closing");
      });
      const jobId = await queue.add(jobData("closing"));
      const [signal] = await started.count(1, "the handler to start");
      // What becomes of the job afterwards (failed, or waiting for another processor) is the
      // adapter's choice; only the abort is contract. Its outcome must not go unhandled.
      void queue.waitUntilFinished(jobId).catch(() => undefined);
      await processor.close();
      await aborted(signal!);
      expect(signal!.aborted).toBe(true);
    });

    scenario("a processor with concurrency 2 runs two jobs at once", async (queue) => {
      const running = new Inbox<string>();
      const processor = await queue.process(
        async (data, context) => {
          running.push(context.jobId);
          // Each job finishes only once both run together: a processor running one at a time never gets here.
          await running.count(2, "two jobs running at once");
          return resultFor(data);
        },
        { concurrency: 2 },
      );
      const ids = [await queue.add(jobData("one")), await queue.add(jobData("two"))];
      for (const id of ids) await queue.waitUntilFinished(id);
      expect([...running.items].sort()).toEqual([...ids].sort());
      await processor.close();
    });

    scenario("an active limit caps the jobs running at once below the processor's concurrency, and can be lifted", async (queue) => {
      expect(await queue.activeLimit()).toBeNull();
      await queue.setActiveLimit(1);
      expect(await queue.activeLimit()).toBe(1);
      let running = 0;
      let most = 0;
      const started = new Inbox<string>();
      const handler: Handler = async (data, context) => {
        running++;
        most = Math.max(most, running);
        started.push(context.jobId);
        // Long enough for a second job to be taken if the limit let it.
        await new Promise((r) => setTimeout(r, 300));
        running--;
        return resultFor(data);
      };
      const processor = await queue.process(handler, { concurrency: 3 });
      const ids = [await queue.add(jobData("a")), await queue.add(jobData("b")), await queue.add(jobData("c"))];
      for (const id of ids) await queue.waitUntilFinished(id);
      expect(most).toBe(1);
      await queue.setActiveLimit(null);
      expect(await queue.activeLimit()).toBeNull();
      // Without the cap the processor's own concurrency applies again.
      const together = new Inbox<string>();
      await processor.close();
      const second = await queue.process(
        async (data, context) => {
          together.push(context.jobId);
          await together.count(2, "two jobs running at once once the limit is lifted");
          return resultFor(data);
        },
        { concurrency: 2 },
      );
      const more = [await queue.add(jobData("d")), await queue.add(jobData("e"))];
      for (const id of more) await queue.waitUntilFinished(id);
      await second.close();
      const bad = await rejection(queue.setActiveLimit(0));
      expect(bad.message).toMatch(/whole number of 1 or more, got 0/);
    });

    scenario("counts give the jobs in each state, every state present", async (queue) => {
      const none = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
      expect(await queue.counts()).toEqual(none);
      const ok = await queue.add(jobData("counted-ok"));
      const fails = await queue.add(jobData("counted-fails"));
      const held = await queue.add(jobData("counted-held"));
      expect(await queue.counts()).toEqual({ ...none, waiting: 3 });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const holding = new Inbox<string>();
      const processor = await queue.process(
        async (data, context) => {
          if (data.destination.endsWith("fails")) throw permanentError("destination not writable");
          if (data.destination.endsWith("held")) {
            holding.push(context.jobId);
            await gate;
          }
          return resultFor(data);
        },
        { concurrency: 3 },
      );
      await queue.waitUntilFinished(ok);
      await rejection(queue.waitUntilFinished(fails));
      await holding.count(1, "the held job running");
      expect(await queue.counts()).toEqual({ ...none, active: 1, completed: 1, failed: 1 });
      release();
      await queue.waitUntilFinished(held);
      expect(await queue.counts()).toEqual({ ...none, completed: 2, failed: 1 });
      await processor.close();
      await queue.close();
      await expect(queue.counts()).rejects.toMatchObject({ code: "QUEUE_CLOSED" });
    });

    done();
  });
}
