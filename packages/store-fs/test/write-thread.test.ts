import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsObjectStore } from "@shoal/store-fs";
import { WriteThread } from "../src/write-thread.js";

function shared(bytes: Uint8Array): Buffer {
  const out = Buffer.from(new SharedArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

describe("WriteThread", () => {
  let dir: string;
  let thread: WriteThread;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-write-thread-"));
    thread = new WriteThread();
  });

  afterEach(async () => {
    await thread.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a range of shared memory at a file position, larger than one write", async () => {
    const bytes = shared(randomBytes(300_000));
    const fh = await open(join(dir, "f.bin"), "w+");
    await thread.write(fh.fd, bytes.subarray(1000), 500, 200_000, 7);
    await fh.close();
    const got = await readFile(join(dir, "f.bin"));
    expect(got.length).toBe(200_007);
    expect(got.subarray(7).equals(bytes.subarray(1500, 201_500))).toBe(true);
  });

  it("rejects with the errno of a failed write", async () => {
    const path = join(dir, "read-only.bin");
    await (await open(path, "w")).close();
    const fh = await open(path, "r");
    await expect(thread.write(fh.fd, shared(Buffer.from("abc")), 0, 3, 0)).rejects.toMatchObject({ code: "EBADF" });
    await fh.close();
  });

  it("starts again after it was closed", async () => {
    const fh = await open(join(dir, "again.bin"), "w+");
    await thread.write(fh.fd, shared(Buffer.from("one")), 0, 3, 0);
    await thread.close();
    await thread.write(fh.fd, shared(Buffer.from("two")), 0, 3, 3);
    await fh.close();
    expect(await readFile(join(dir, "again.bin"), "utf8")).toBe("onetwo");
  });
});

describe("FsObjectStore with pieces in shared memory", () => {
  it("writes them through its write thread, across files, byte for byte", async () => {
    const root = await mkdtemp(join(tmpdir(), "shoal-store-shared-"));
    const store = new FsObjectStore(root);
    try {
      const ih = "aa".repeat(20);
      const pieceLength = 256 * 1024;
      const files = [
        { path: ["a.bin"], length: 100_000, offset: 0, padding: false },
        { path: ["sub", "b.bin"], length: 400_000, offset: 100_000, padding: false },
      ];
      await store.openTorrent({ infoHash: ih, name: "t", pieceLength, totalLength: 500_000, files });
      const payload = randomBytes(500_000);
      await store.writePiece(ih, 1, shared(payload.subarray(pieceLength)));
      await store.writePiece(ih, 0, shared(payload.subarray(0, pieceLength)));
      expect((await readFile(join(root, "t", "a.bin"))).equals(payload.subarray(0, 100_000))).toBe(true);
      expect((await readFile(join(root, "t", "sub", "b.bin"))).equals(payload.subarray(100_000))).toBe(true);
      expect((await store.readRange(ih, 0, 500_000))?.equals(payload)).toBe(true);
    } finally {
      await store.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
