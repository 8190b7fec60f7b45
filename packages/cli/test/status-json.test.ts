import { describe, expect, it } from "vitest";
import type { JobInfo } from "@shoal/coordination";
import { statusJobSchema, statusJson } from "../src/status-json.js";

const job: JobInfo = {
  id: "job-1",
  state: "active",
  data: {
    source: { kind: "torrent", base64: Buffer.from("d4:infod4:name1:aee").toString("base64") },
    destination: "s3://bucket/prefix",
    options: { selectFiles: [0, 2], maxDownloadBytesPerSec: 1_000_000 },
  },
  attemptsMade: 1,
  createdAt: 1_700_000_000_000,
  progress: {
    infoHash: "ab".repeat(20),
    name: "a",
    totalBytes: 100,
    storedBytes: 40,
    pieces: 10,
    storedPieces: 4,
    peers: 3,
    downloadRateBytesPerSec: 12.5,
    uploadRateBytesPerSec: 0,
    downloadedBytes: 50,
    uploadedBytes: 0,
    pieceStates: { missing: 4, claimed: 1, staged: 1, verified: 0, stored: 4, skipped: 0 },
    workers: [{ workerId: "w1", live: true, peers: 3, downloadRateBytesPerSec: 12.5, uploadRateBytesPerSec: 0, downloadedBytes: 50, uploadedBytes: 0 }],
  },
};

describe("status --json", () => {
  it("is the documented shape, without the torrent's bytes", () => {
    const out = statusJson(job);
    expect(() => statusJobSchema.parse(out)).not.toThrow();
    expect(out.data.source).toEqual({ kind: "torrent" });
    expect(JSON.stringify(out)).not.toContain(job.data.source.kind === "torrent" ? job.data.source.base64 : "-");
    expect(out.progress?.workers?.[0]?.workerId).toBe("w1");
  });

  it("does not pass on fields the queue's record grows", () => {
    const grown = { ...job, internal: 1, progress: { ...job.progress!, secret: "x" }, data: { ...job.data, extra: true } } as unknown as JobInfo;
    const out = statusJson(grown);
    expect(() => statusJobSchema.parse(out)).not.toThrow();
    expect(JSON.stringify(out)).not.toMatch(/internal|secret|extra/);
  });

  it("keeps a URL source, a result and a failure reason", () => {
    const done: JobInfo = {
      id: "job-2",
      state: "failed",
      data: { source: { kind: "url", url: "http://example.org/t.torrent" }, destination: "/data" },
      attemptsMade: 3,
      createdAt: 1,
      finishedAt: 2,
      failedReason: "no tracker answered",
      result: { infoHash: "cd".repeat(20), name: "t", files: [{ path: "t/a", length: 5 }], totalBytes: 5, resumedPieces: 0, downloadedBytes: 5, uploadedBytes: 0 },
    };
    const out = statusJobSchema.parse(statusJson(done));
    expect(out.data.source).toEqual({ kind: "url", url: "http://example.org/t.torrent" });
    expect(out.failedReason).toBe("no tracker answered");
    expect(out.result?.files).toEqual([{ path: "t/a", length: 5 }]);
  });
});
