import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FsObjectStore } from "../src/index.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("FsObjectStore with more files than it keeps open", () => {
  it("writes every piece of a 600-file torrent concurrently and loses no byte", async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-many-"));
    const fileBytes = 1000;
    const files = Array.from({ length: 600 }, (_, i) => ({ path: [`d${i % 7}`, `f${i}.bin`], length: fileBytes, offset: i * fileBytes, padding: false }));
    const total = files.length * fileBytes;
    const pieceLength = 16 * 1024;
    const payload = randomBytes(total);
    const store = new FsObjectStore(dir);
    await store.openTorrent({ infoHash: "ab".repeat(20), name: "many", pieceLength, totalLength: total, files });
    const pieces = Math.ceil(total / pieceLength);
    await Promise.all(
      Array.from({ length: pieces }, (_, i) => store.writePiece("ab".repeat(20), i, payload.subarray(i * pieceLength, Math.min(total, (i + 1) * pieceLength)))),
    );
    await store.finalize("ab".repeat(20));
    await store.close();
    for (const f of files) {
      const got = await readFile(join(dir, "many", ...f.path));
      expect(got.equals(payload.subarray(f.offset, f.offset + f.length))).toBe(true);
    }
  });
});
