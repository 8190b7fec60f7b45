import { createHash, randomBytes } from "node:crypto";
import { Client } from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveChildCount, s3TestClient, startS3Server } from "../src/index.js";
import type { S3Server } from "../src/index.js";
import { withFakePath } from "./fake-path.js";

const MIB = 1024 * 1024;
/** S3's smallest part size for every part but the last. */
const PART_BYTES = 5 * MIB;

/** PATH entries that run the real Swift servers, for a PATH that lacks or fakes memcached. */
const REAL_SWIFT_SERVERS = Object.fromEntries(
  ["account", "container", "object", "proxy"].map((k) => [`swift-${k}-server`, `exec /usr/bin/swift-${k}-server "$@"`]),
);

function minioFor(s3: S3Server): Client {
  return new Client({
    endPoint: s3.host,
    port: s3.port,
    useSSL: false,
    accessKey: s3.accessKeyId,
    secretKey: s3.secretAccessKey,
    region: s3.region,
    pathStyle: true,
  });
}

function md5Hex(b: Buffer): string {
  return createHash("md5").update(b).digest("hex");
}

/**
 * Swift takes seconds to start, so the tests share one server and run in order: the restart
 * tests check that what the first test stored is still there.
 */
describe("S3 server (Swift + s3api)", () => {
  let s3: S3Server;
  const bucket = `testkit-${randomBytes(4).toString("hex")}`;
  const small = randomBytes(64 * 1024);
  const parts = [randomBytes(PART_BYTES), randomBytes(PART_BYTES)];
  const large = Buffer.concat(parts);

  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3?.stop();
    expect(liveChildCount()).toBe(0);
  });

  it("stores a plain PUT and a two-part multipart upload, lists them and returns their bytes", async () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.region).toBe("us-east-1");
    await s3.createBucket(bucket);
    expect(await s3.listBuckets()).toContain(bucket);

    const minio = minioFor(s3);
    await minio.putObject(bucket, "dir/small.bin", small, small.length, { "x-amz-meta-origin": "test" });
    const uploadId = await minio.initiateNewMultipartUpload(bucket, "dir/large file.bin", {});
    expect(await s3.listMultipartUploads(bucket, "dir/")).toEqual([{ key: "dir/large file.bin", uploadId }]);
    expect(await s3.listMultipartUploads(bucket, "other/")).toEqual([]);
    const etags = [];
    for (const [i, part] of parts.entries()) {
      const up = await minio.uploadPart({ bucketName: bucket, objectName: "dir/large file.bin", uploadID: uploadId, partNumber: i + 1, headers: {} }, part);
      etags.push({ part: i + 1, etag: up.etag });
    }
    await minio.completeMultipartUpload(bucket, "dir/large file.bin", uploadId, etags);
    expect(await s3.listMultipartUploads(bucket)).toEqual([]);

    const listed = await s3.listObjects(bucket, "dir/");
    expect(listed.map(({ key, size }) => ({ key, size }))).toEqual([
      { key: "dir/large file.bin", size: large.length },
      { key: "dir/small.bin", size: small.length },
    ]);
    // S3's multipart ETag: the MD5 of the parts' binary MD5s, then the part count.
    const partsMd5 = md5Hex(Buffer.concat(parts.map((p) => createHash("md5").update(p).digest())));
    expect(listed[0]?.etag).toBe(`${partsMd5}-2`);
    expect(listed[1]?.etag).toBe(md5Hex(small));
    expect(await s3.listObjects(bucket, "nothing/")).toEqual([]);
    const onePerPage = s3TestClient(s3, { maxKeys: 1 });
    expect((await onePerPage.listObjects(bucket)).map((o) => o.key)).toEqual(["dir/large file.bin", "dir/small.bin"]);

    expect((await s3.getObject(bucket, "dir/large file.bin")).equals(large)).toBe(true);
    expect((await s3.getObject(bucket, "dir/small.bin")).equals(small)).toBe(true);
    expect(await s3.headObject(bucket, "dir/small.bin")).toEqual({ size: small.length, etag: md5Hex(small), metadata: { origin: "test" } });
    await expect(s3.headObject(bucket, "dir/absent")).rejects.toMatchObject({ code: "RPC_FAILED", context: expect.objectContaining({ status: 404 }) });
    await expect(s3.getObject(bucket, "dir/absent")).rejects.toMatchObject({
      code: "RPC_FAILED",
      context: expect.objectContaining({ s3Code: "NoSuchKey", status: 404 }),
    });
  });

  it("puts, replaces and deletes objects with its own client (keys with spaces and unicode too)", async () => {
    const key = "own client/ä b.bin";
    await s3.putObject(bucket, key, Buffer.from("first"));
    await s3.putObject(bucket, key, Buffer.from("second, longer"));
    expect((await s3.getObject(bucket, key)).toString()).toBe("second, longer");
    await s3.putObject(bucket, "own client/empty", Buffer.alloc(0));
    expect((await s3.headObject(bucket, "own client/empty")).size).toBe(0);
    await s3.deleteObject(bucket, key);
    await s3.deleteObject(bucket, key);
    await s3.deleteObject(bucket, "own client/empty");
    expect(await s3.listObjects(bucket, "own client/")).toEqual([]);
  });

  it("refuses a request signed with the wrong secret", async () => {
    const wrong = s3TestClient({ endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: "not-the-secret", region: s3.region });
    await expect(wrong.listBuckets()).rejects.toMatchObject({ code: "RPC_FAILED", context: expect.objectContaining({ status: 403 }) });
  });

  it("keeps buckets and objects across restart(), on the same port", async () => {
    const { port, endpoint } = s3;
    await s3.restart();
    expect(s3.port).toBe(port);
    expect(s3.endpoint).toBe(endpoint);
    expect((await s3.listObjects(bucket)).map((o) => o.key)).toEqual(["dir/large file.bin", "dir/small.bin"]);
    expect((await s3.getObject(bucket, "dir/large file.bin")).equals(large)).toBe(true);
  });

  it("is unreachable after kill9() and serves the stored objects again after restart()", async () => {
    await s3.kill9();
    await expect(s3.listBuckets()).rejects.toMatchObject({ code: "RPC_FAILED" });
    await s3.restart();
    expect((await s3.getObject(bucket, "dir/small.bin")).equals(small)).toBe(true);
    await minioFor(s3).putObject(bucket, "after-crash.txt", Buffer.from("back"));
    expect((await s3.getObject(bucket, "after-crash.txt")).toString()).toBe("back");
  });

  it("names a missing Swift server or memcached and the package to install", async () => {
    await withFakePath({}, async () => {
      await expect(startS3Server()).rejects.toMatchObject({
        code: "MISSING_BINARY",
        message: expect.stringContaining("apt-get install --no-install-recommends swift-account"),
      });
    });
    await withFakePath(REAL_SWIFT_SERVERS, async () => {
      await expect(startS3Server()).rejects.toMatchObject({
        code: "MISSING_BINARY",
        message: expect.stringContaining("apt-get install --no-install-recommends memcached"),
      });
    });
  });

  it("reports a process of the cluster that exits while starting, and stops the others", async () => {
    const failingMemcached = { memcached: 'echo "failed to listen on TCP port: Address already in use" >&2; exit 71' };
    // The shared server's five processes are running; none of the failed start's may remain.
    const running = liveChildCount();
    await withFakePath({ ...REAL_SWIFT_SERVERS, ...failingMemcached }, async () => {
      await expect(startS3Server()).rejects.toMatchObject({
        code: "EARLY_EXIT",
        message: expect.stringMatching(/memcached 127\.0\.0\.1:\d+ .*exit code 71[\s\S]*Address already in use/),
      });
    });
    expect(liveChildCount()).toBe(running);
  });
});
