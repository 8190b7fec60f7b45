import { MemoryJobQueue } from "@shoal/coordination";
import { describe, expect, it } from "vitest";
import { cancelJob, prepareSubmission, submitJob, submitProblemOf, type SubmitRequest } from "../src/index.js";

/** A two-file torrent with an HTTP tracker, bencoded by hand. */
const files = "l" + ["a.bin", "b.bin"].map((n) => `d6:lengthi20000e4:pathl${n.length}:${n}ee`).join("") + "e";
const info = `d5:files${files}4:name3:set12:piece lengthi16384e6:pieces60:${"x".repeat(60)}e`;
const TORRENT = Buffer.from(`d8:announce27:http://127.0.0.1:1/announce4:info${info}e`).toString("base64");

/** No S3 endpoint anywhere: the bucket check is skipped, everything else runs. */
const ENV = {};
const req = (over: Partial<SubmitRequest> = {}): SubmitRequest => ({
  source: { kind: "torrent", base64: TORRENT },
  sourceLabel: "set.torrent",
  to: "s3://bucket-a/in",
  ...over,
});

async function refusal(r: SubmitRequest): Promise<{ message: string; problem: string | undefined }> {
  try {
    await prepareSubmission(r, undefined, ENV);
  } catch (err) {
    return { message: (err as Error).message, problem: submitProblemOf(err) };
  }
  throw new Error("accepted");
}

describe("prepareSubmission: the checks shoal submit and the dashboard share", () => {
  it("builds the job: canonical destination, selection, seeding and rate limits in bytes", async () => {
    const { data, jobId } = await prepareSubmission(
      req({ to: "s3://bucket-a//in/", select: "1", seedRatio: "1.5", maxDownloadRate: "4M", maxUploadRate: "0", jobId: "named" }),
      undefined,
      ENV,
    );
    expect(jobId).toBe("named");
    expect(data).toEqual({
      source: { kind: "torrent", base64: TORRENT },
      destination: "s3://bucket-a/in",
      options: { selectFiles: [1], seed: { ratio: 1.5 }, maxDownloadBytesPerSec: 4 * 1024 * 1024 },
    });
  });

  it("tells an option's syntax from input that cannot be used, each in one line", async () => {
    expect(await refusal(req({ to: undefined }))).toEqual({ message: "--to s3://BUCKET/PREFIX is required", problem: "option" });
    expect(await refusal(req({ select: "" }))).toMatchObject({ message: expect.stringMatching(/^--select: empty entry/), problem: "option" });
    expect(await refusal(req({ maxUploadRate: "lots" }))).toMatchObject({ message: expect.stringMatching(/^--max-upload-rate: "lots"/), problem: "option" });
    expect(await refusal(req({ seedTime: " " }))).toMatchObject({ message: expect.stringMatching(/^--seed-time must be/), problem: "option" });
    expect(await refusal(req({ select: "2" }))).toMatchObject({ message: expect.stringMatching(/^file selection: .*file 2 does not exist/), problem: "input" });
    const junk = await refusal(req({ source: { kind: "torrent", base64: Buffer.from("junk").toString("base64") }, sourceLabel: "junk.torrent" }));
    expect(junk).toMatchObject({ message: expect.stringMatching(/^junk\.torrent: /), problem: "input" });
    // A destination the runtime cannot use is the runtime's own ConfigError, without a problem kind.
    expect(await refusal(req({ to: "gs://b/x" }))).toMatchObject({ message: expect.stringMatching(/unsupported scheme "gs:"/), problem: undefined });
    for (const r of [req({ to: undefined }), req({ select: "9" })]) expect((await refusal(r)).message).not.toMatch(/\n/);
  });

  it("queues through submitJob, and cancelJob answers for running, finished and unknown jobs", async () => {
    const queue = new MemoryJobQueue();
    const { jobId, destination } = await submitJob(queue, req(), undefined, ENV);
    expect(destination).toBe("s3://bucket-a/in");
    expect((await queue.get(jobId))?.state).toBe("waiting");
    expect(await cancelJob(queue, jobId)).toEqual({ kind: "cancelled", message: `job ${jobId} cancelled` });
    expect(await cancelJob(queue, jobId)).toEqual({ kind: "finished", message: `job ${jobId} already failed; nothing to cancel` });
    expect(await cancelJob(queue, "nope")).toEqual({ kind: "unknown", message: "no job nope in the queue" });
  });
});
