import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { InlineHasher, ThreadedHasher } from "../src/hashing/piece-hasher.js";
import { until } from "../../../test/sim/wait.js";
import { fragileThreads, within } from "./fragile-threads.js";

const threaded = new ThreadedHasher(2);
afterAll(() => threaded.close());

/** A thread answers in milliseconds; this long means the job went to a thread that is gone. */
const ANSWER_WITHIN_MS = 3_000;

const sha1 = (data: Uint8Array) => createHash("sha1").update(data).digest();

describe("piece hashers", () => {
  it("hash on threads exactly as inline, for plain and shared memory and for views", async () => {
    const inline = new InlineHasher();
    const plain = randomBytes(1 << 20);
    const shared = Buffer.from(new SharedArrayBuffer(300_001));
    randomBytes(300_001).copy(shared);
    const view = plain.subarray(1000, 70_000);
    for (const data of [plain, shared, view, Buffer.alloc(0)]) {
      const expected = createHash("sha1").update(data).digest();
      expect(await inline.sha1(data)).toEqual(expected);
      expect(await threaded.sha1(data)).toEqual(expected);
    }
    // The caller's buffer is untouched (copied to the thread, never transferred away).
    expect(plain.length).toBe(1 << 20);
  });

  it("keeps answers matched to their pieces under concurrency", async () => {
    const pieces = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
    const digests = await Promise.all(pieces.map((p) => threaded.sha1(p)));
    digests.forEach((d, i) => expect(d).toEqual(createHash("sha1").update(pieces[i]!).digest()));
  });
});

describe("hashing threads that die", () => {
  it("fail the crashed thread's job and hash every later piece on a thread that took its place", async () => {
    const spawn = fragileThreads(["throw-on-first-piece"]);
    const hasher = new ThreadedHasher(1, spawn);
    try {
      await expect(within(hasher.sha1(randomBytes(1000)), ANSWER_WITHIN_MS, "the crashed job")).rejects.toThrow();
      for (let i = 0; i < 4; i++) {
        const data = randomBytes(5000);
        expect(await within(hasher.sha1(data), ANSWER_WITHIN_MS, `piece ${i} after the crash`)).toEqual(sha1(data));
      }
      expect(hasher.threads).toBe(1);
      expect(spawn.started()).toBe(2);
    } finally {
      await hasher.close();
    }
  });

  it("treat a thread that exits without an error as dead too", async () => {
    const hasher = new ThreadedHasher(1, fragileThreads(["exit-on-first-piece"]));
    try {
      await expect(within(hasher.sha1(randomBytes(1000)), ANSWER_WITHIN_MS, "the exiting thread's job")).rejects.toThrow(/exited with code 3/);
      const data = randomBytes(4000);
      expect(await within(hasher.sha1(data), ANSWER_WITHIN_MS, "a piece after the exit")).toEqual(sha1(data));
      expect(hasher.threads).toBe(1);
    } finally {
      await hasher.close();
    }
  });

  it("leave the jobs of the other threads alone when one dies", async () => {
    // The first job goes to the healthy first thread; the second, to the idle one that dies on it.
    const hasher = new ThreadedHasher(2, fragileThreads(["hash", "throw-on-first-piece"]));
    try {
      const data = randomBytes(200_000);
      const healthy = within(hasher.sha1(data), ANSWER_WITHIN_MS, "the healthy thread's job");
      await expect(within(hasher.sha1(randomBytes(10)), ANSWER_WITHIN_MS, "the crashed job")).rejects.toThrow();
      expect(await healthy).toEqual(sha1(data));
    } finally {
      await hasher.close();
    }
  });

  it("hash on the event loop when a thread that took a dead one's place cannot start either", async () => {
    const spawn = fragileThreads(["exit-at-start", "exit-at-start", "exit-at-start"]);
    const hasher = new ThreadedHasher(1, spawn);
    try {
      await until(() => hasher.threads === 0, { timeoutMs: ANSWER_WITHIN_MS, what: "both threads to die" });
      const data = randomBytes(3000);
      expect(await within(hasher.sha1(data), ANSWER_WITHIN_MS, "a job after the threads died")).toEqual(sha1(data));
      expect(spawn.started()).toBe(2);
    } finally {
      await hasher.close();
    }
  });
});
