import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, makePayload, makeTorrent, startS3Server, type S3Server } from "@shoal/testkit";
import { waitFor } from "@shoal/testkit";
import { runCli, startCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let s3: S3Server;
let swarm: Swarm | undefined;
let scratch: string;

beforeAll(async () => {
  s3 = await startS3Server();
  scratch = await mkdtemp(join(tmpdir(), "shoal-s3-get-"));
});
afterAll(async () => {
  await s3?.stop();
  await rm(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
});

/** The S3 settings a user would export, pointing at the test server. */
function s3Env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SHOAL_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    ...extra,
  };
}

/** A fresh bucket per test, so no test sees another's objects. */
async function freshBucket(): Promise<string> {
  const name = `shoal-${randomBytes(5).toString("hex")}`;
  await s3.createBucket(name);
  return name;
}

/** Payload files whose object under `prefix` is missing or holds other bytes than the source. */
async function bucketMismatches(bucket: string, prefix: string, files: readonly { path: string; sha256: string }[]): Promise<string[]> {
  const bad: string[] = [];
  for (const f of files) {
    const got = await s3.getObject(bucket, prefix === "" ? f.path : `${prefix}/${f.path}`).catch(() => undefined);
    if (!got) bad.push(`${f.path}: missing`);
    else if (createHash("sha256").update(got).digest("hex") !== f.sha256) bad.push(`${f.path}: content differs`);
  }
  return bad;
}

/** A multi-file payload: under and over S3's 5 MiB part minimum, an empty file, pieces across file edges. */
const MULTI = {
  name: "multi",
  files: [
    { path: "a/small.bin", size: 1 * MiB + 3 },
    { path: "a/empty.txt", size: 0 },
    { path: "b/big.bin", size: 11 * MiB + 12_345 },
    { path: "c.txt", size: 100_001 },
  ],
};

describe("shoal get --out s3://BUCKET/PREFIX", () => {
  it("lands a multi-file torrent in the bucket byte for byte, and a rerun finds it complete", async () => {
    swarm = await startSwarm({ payload: MULTI, pieceLength: 64 * 1024, tracker: "http", seeds: 2 });
    const bucket = await freshBucket();
    // 5 MiB parts: big.bin becomes a three-part multipart upload, small.bin and c.txt single PUTs.
    const env = s3Env({ SHOAL_S3_PART_SIZE_MIB: "5" });
    const r = await runCli(["get", swarm.torrentPath, "--out", `s3://${bucket}/dl/run1`, "--port", "0", "--json"], 180_000, env);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    expect(await bucketMismatches(bucket, "dl/run1", swarm.payload.files)).toEqual([]);
    // Exactly the torrent's files under the prefix: no staging or part objects, no open uploads.
    const keys = (await s3.listObjects(bucket, "dl/")).map((o) => o.key).sort();
    expect(keys).toEqual(["dl/run1/multi/a/empty.txt", "dl/run1/multi/a/small.bin", "dl/run1/multi/b/big.bin", "dl/run1/multi/c.txt"]);
    expect(await s3.listMultipartUploads(bucket)).toEqual([]);
    expect((await s3.headObject(bucket, "dl/run1/multi/b/big.bin")).etag).toMatch(/-3$/);
    const done = r.events.find((e) => e["event"] === "completed");
    expect(done?.["infoHash"]).toBe(swarm.infoHashHex);

    // Rerun with the endpoint as --s3 (which wins over a wrong AWS_ENDPOINT_URL): the bucket is
    // rechecked, every piece found intact, nothing downloaded, nothing uploaded again.
    const again = await runCli(
      ["get", swarm.torrentPath, "--out", `s3://${bucket}/dl/run1`, "--port", "0", "--json", "--s3", s3.endpoint],
      120_000,
      { ...env, SHOAL_S3_ENDPOINT: "", AWS_ENDPOINT_URL: "http://127.0.0.1:1" },
    );
    expect(again.code, again.stderr).toBe(0);
    const resumed = Number(again.events.find((e) => e["event"] === "resumed")?.["pieces"]);
    const pieces = Number(again.events.find((e) => e["event"] === "metadata")?.["pieces"]);
    expect(resumed).toBe(pieces);
    expect(again.events.find((e) => e["event"] === "completed")?.["downloadedBytes"]).toBe(0);
    expect((await s3.listObjects(bucket, "dl/")).map((o) => o.key).sort()).toEqual(keys);

    // And verify agrees, with the endpoint from AWS_ENDPOINT_URL_S3.
    const v = await runCli(["verify", swarm.torrentPath, "--in", `s3://${bucket}/dl/run1`], 60_000, {
      ...env,
      SHOAL_S3_ENDPOINT: "",
      AWS_ENDPOINT_URL_S3: s3.endpoint,
    });
    expect(v.code, v.stderr).toBe(0);
    expect(v.events.map((e) => e["line"])).toEqual([`all 4 files match (12.1 MiB, ${pieces} pieces)`]);
  }, 300_000);

  it("lands a single-file torrent at the bucket's top when there is no prefix", async () => {
    swarm = await startSwarm({ payload: { name: "single.iso", size: 6 * MiB + 77 }, pieceLength: 128 * 1024, tracker: "udp", seeds: 1 });
    const bucket = await freshBucket();
    const r = await runCli(["get", swarm.torrentPath, "--out", `s3://${bucket}`, "--port", "0"], 120_000, s3Env());
    expect(r.code, r.stderr).toBe(0);
    expect((await s3.listObjects(bucket)).map((o) => [o.key, o.size])).toEqual([["single.iso", 6 * MiB + 77]]);
    expect(await bucketMismatches(bucket, "", swarm.payload.files)).toEqual([]);
    const v = await runCli(["verify", swarm.torrentPath, "--in", `s3://${bucket}/`], 60_000, s3Env());
    expect(v.code, v.stderr).toBe(0);
    expect(v.events.map((e) => e["line"])).toEqual(["all 1 file matches (6.0 MiB, 49 pieces)"]);
  }, 300_000);

  it("completes a torrent much larger than the staging budget (pieces are claimed in runs that fill parts)", async () => {
    // 24 MiB of staging and 5 MiB parts over 72 MiB. A piece counts against the budget until its
    // part is uploaded: claimed one by one, rarest first, the budget would fill with pieces of
    // parts that cannot fill, and the download would stall for good.
    swarm = await startSwarm({ payload: { name: "budget.bin", size: 72 * MiB }, pieceLength: 256 * 1024, tracker: "http", seeds: 2 });
    const bucket = await freshBucket();
    const env = s3Env({ SHOAL_S3_PART_SIZE_MIB: "5", SHOAL_PEER_WORKER_MAX_BUFFERED_MIB: "24" });
    const r = await runCli(["get", swarm.torrentPath, "--out", `s3://${bucket}/b`, "--port", "0"], 120_000, env);
    expect(r.code, r.stderr).toBe(0);
    expect(await bucketMismatches(bucket, "b", swarm.payload.files)).toEqual([]);
  }, 300_000);

  it("with --select, only the selected files become objects", async () => {
    swarm = await startSwarm({ payload: MULTI, pieceLength: 64 * 1024, tracker: "udp", seeds: 1 });
    const bucket = await freshBucket();
    // mktorrent sorts the files: 0 a/empty.txt, 1 a/small.bin, 2 b/big.bin, 3 c.txt.
    const r = await runCli(["get", swarm.torrentPath, "--out", `s3://${bucket}/sel`, "--port", "0", "--select", "1,3"], 120_000, s3Env());
    expect(r.code, r.stderr).toBe(0);
    const keys = (await s3.listObjects(bucket, "")).map((o) => o.key).sort();
    expect(keys).toEqual(["sel/multi/a/small.bin", "sel/multi/c.txt"]);
    const selected = swarm.payload.files.filter((f) => f.path.endsWith("small.bin") || f.path.endsWith("c.txt"));
    expect(await bucketMismatches(bucket, "sel", selected)).toEqual([]);
    expect(await s3.listMultipartUploads(bucket)).toEqual([]);

    const v = await runCli(["verify", swarm.torrentPath, "--in", `s3://${bucket}/sel`, "--select", "1,3"], 60_000, s3Env());
    expect(v.code, v.stderr).toBe(0);
    expect(String(v.events[0]?.["line"])).toMatch(/^all 2 files match \(.*; 2 of 4 files selected\)$/);
  }, 300_000);
});

describe("shoal get to a bucket, interrupted", () => {
  it("Ctrl-C leaves finished objects and no unfinished multipart upload, and a rerun completes", async () => {
    const PIECE = 256 * 1024;
    swarm = await startSwarm({
      payload: { name: "ctrlc", files: [{ path: "a.bin", size: 1 * MiB }, { path: "b.bin", size: 3 * MiB + 5 }, { path: "c.bin", size: 30 * MiB }] },
      pieceLength: PIECE,
      tracker: "http",
      seeds: 1,
      seedUploadRateLimit: 3 * MiB,
    });
    const bucket = await freshBucket();
    // 5 MiB parts: c.bin is a six-part upload, open from its first full part until its last.
    const env = s3Env({ SHOAL_S3_PART_SIZE_MIB: "5" });
    const out = `s3://${bucket}/x`;
    const first = startCli(["get", swarm.torrentPath, "--out", out, "--port", "0", "--json"], env);
    await waitFor(async () => (await s3.listMultipartUploads(bucket)).length > 0, { timeoutMs: 60_000, intervalMs: 50, what: "a multipart upload under way" });
    first.child.kill("SIGINT");
    expect((await first.exited).code, first.stderr()).toBe(130);
    // Nothing can resume the upload (its ledger was in the process's memory): it was aborted.
    expect(await s3.listMultipartUploads(bucket)).toEqual([]);
    // Whatever objects exist are whole files with the source's bytes.
    const present = await s3.listObjects(bucket, "x/");
    const have = swarm.payload.files.filter((f) => present.some((o) => o.key === `x/${f.path}`));
    expect(present).toHaveLength(have.length);
    expect(await bucketMismatches(bucket, "x", have)).toEqual([]);

    const again = await runCli(["get", swarm.torrentPath, "--out", out, "--port", "0", "--json"], 120_000, env);
    expect(again.code, again.stderr).toBe(0);
    expect(await bucketMismatches(bucket, "x", swarm.payload.files)).toEqual([]);
    expect(await s3.listMultipartUploads(bucket)).toEqual([]);
    // Pieces wholly inside objects the first run finished are not downloaded again.
    const resumed = Number(again.events.find((e) => e["event"] === "resumed")?.["pieces"]);
    const whole = have.reduce((n, f) => n + Math.max(0, Math.floor(f.size / PIECE) - 1), 0);
    expect(resumed).toBeGreaterThanOrEqual(whole);
  }, 300_000);
});

describe("shoal get to a bucket it cannot use: one line, exit status 2, within seconds", () => {
  let torrentPath: string;
  // Accepts connections and never answers: a firewall that drops, an endpoint that hangs.
  const silent = createServer(() => {});
  afterAll(() => void silent.close());
  beforeAll(async () => {
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const payload = await makePayload(join(scratch, "data"), { name: "x.bin", size: 100_000 });
    torrentPath = (await makeTorrent({ path: payload.root, out: join(scratch, "x.torrent"), pieceLength: 32 * 1024, announce: [["http://127.0.0.1:1/announce"]] })).torrentPath;
  });

  const cases: [string, () => Promise<{ out: string; env: Record<string, string>; extra?: string[] }>, RegExp][] = [
    ["a bucket that does not exist", async () => ({ out: "s3://no-such-bucket-here/x", env: s3Env() }), /bucket no-such-bucket-here does not exist on http:\/\/127\.0\.0\.1:\d+/],
    [
      "an endpoint nobody listens on",
      async () => ({ out: `s3://${await freshBucket()}/x`, env: s3Env({ SHOAL_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` }) }),
      /S3 endpoint http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/,
    ],
    [
      "an endpoint that never answers",
      async () => ({ out: "s3://bucket/x", env: s3Env({ SHOAL_S3_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }) }),
      /S3 endpoint http:\/\/127\.0\.0\.1:\d+ is unreachable: no response activity within 3000 ms/,
    ],
    ["a host that does not resolve", async () => ({ out: "s3://bucket/x", env: s3Env(), extra: ["--s3", "http://no-such-host.invalid:9000"] }), /S3 endpoint http:\/\/no-such-host\.invalid:9000 is unreachable: ENOTFOUND/],
    ["an endpoint that is not a URL", async () => ({ out: "s3://bucket/x", env: s3Env({ SHOAL_S3_ENDPOINT: "localhost-9000" }) }), /SHOAL_S3_ENDPOINT: "localhost-9000" is not a URL/],
    ["no endpoint at all", async () => ({ out: "s3://bucket/x", env: s3Env({ SHOAL_S3_ENDPOINT: "" }) }), /S3 endpoint missing: set --s3 URL or SHOAL_S3_ENDPOINT/],
    ["no access key", async () => ({ out: "s3://bucket/x", env: s3Env({ AWS_ACCESS_KEY_ID: "" }) }), /AWS_ACCESS_KEY_ID is not set/],
    ["no secret key", async () => ({ out: "s3://bucket/x", env: s3Env({ AWS_SECRET_ACCESS_KEY: "" }) }), /AWS_SECRET_ACCESS_KEY is not set/],
    ["a wrong secret key", async () => ({ out: `s3://${await freshBucket()}/x`, env: s3Env({ AWS_SECRET_ACCESS_KEY: "wrong" }) }), /refused the credentials for bucket shoal-[0-9a-f]+: SignatureDoesNotMatch.*AWS_SECRET_ACCESS_KEY/],
    ["a bucket name S3 does not allow", async () => ({ out: "s3://Bad_Bucket/x", env: s3Env() }), /"Bad_Bucket" is not a valid bucket name/],
    ["another URL scheme", async () => ({ out: "gs://bucket/x", env: s3Env() }), /unsupported scheme "gs:"/],
    ["an S3 tuning setting out of range", async () => ({ out: `s3://${await freshBucket()}/x`, env: s3Env({ SHOAL_S3_PART_SIZE_MIB: "2" }) }), /SHOAL_S3_PART_SIZE_MIB.*greater than or equal to 5/],
  ];
  for (const [what, setup, message] of cases) {
    it(`names ${what}`, async () => {
      const { out, env, extra } = await setup();
      const started = Date.now();
      const r = await runCli(["get", torrentPath, "--out", out, "--port", "0", ...(extra ?? [])], 30_000, env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(Date.now() - started).toBeLessThan(15_000);
    });
  }
});
