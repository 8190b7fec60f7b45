import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { InlineHasher, ThreadedHasher } from "../src/hashing/piece-hasher.js";

const threaded = new ThreadedHasher(2);
afterAll(() => threaded.close());

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
