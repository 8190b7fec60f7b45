import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type S3Server } from "@shoal/testkit";
import { startCorruptingProxy, type CorruptingProxy, type ProxiedRequest } from "./corrupting-proxy.js";
import { MIB, fileBytes, freshBucket, storeFor, torrent, wantedPieces, writeAll, type Torrent } from "./fixtures.js";

/**
 * Bytes damaged between the writer and the server must never become the object: every body
 * carries one digest the server checks (the `checksum` setting), a damaged body is refused, and
 * the store sends it again. A proxy flips one byte in the first body of each kind (a part, a
 * small object) on its way to a real Swift server.
 */
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

/** A small file (one PUT) and a file of three 5 MiB parts, 1 MiB pieces. */
function twoFiles(): Torrent {
  return torrent("integrity", MIB, [
    { path: ["small.bin"], length: 1.5 * MIB + 7 },
    { path: ["big.bin"], length: 12 * MIB + 3 },
  ]);
}

const isPart = (r: Pick<ProxiedRequest, "method" | "target">) => r.method === "PUT" && r.target.includes("partNumber=");
const isPut = (r: Pick<ProxiedRequest, "method" | "target">) => r.method === "PUT" && !r.target.includes("uploadId=") && !r.target.includes("?");

/** A proxy that damages the first UploadPart body and the first PUT body it sees. */
async function damagingFirstBodies(): Promise<CorruptingProxy> {
  let part = false;
  let put = false;
  return startCorruptingProxy(s3.port, (r) => {
    if (isPart(r) && !part) return (part = true);
    if (isPut(r) && !put) return (put = true);
    return false;
  });
}

/** Writes the torrent through the proxy and returns what the bucket then holds, file by file. */
async function writeThrough(proxy: CorruptingProxy, checksum: "auto" | "sha256" | "md5" | "none", label: string) {
  const bucket = await freshBucket(s3, label);
  const store = storeFor(s3, bucket, { endpoint: proxy.endpoint, checksum, retryBaseMs: 10, retryMaxMs: 50 });
  const t = twoFiles();
  try {
    await store.openTorrent(t.layout);
    await writeAll(store, t, wantedPieces(t));
    await store.finalize(t.layout.infoHash);
    const intact: Record<string, boolean> = {};
    for (const f of t.layout.files) intact[f.path.join("/")] = (await s3.getObject(bucket, `dl/integrity/${f.path.join("/")}`)).equals(fileBytes(t, f));
    return { intact, stats: store.stats() };
  } finally {
    await store.close();
  }
}

/** The digest headers of the body requests the proxy saw. */
function digests(proxy: CorruptingProxy): { payload: string; md5: boolean }[] {
  return proxy.requests.filter((r) => isPart(r) || isPut(r)).map((r) => ({ payload: r.headers["x-amz-content-sha256"] ?? "", md5: "content-md5" in r.headers }));
}

describe("every uploaded body carries one digest the server checks", () => {
  for (const checksum of ["auto", "sha256", "md5"] as const) {
    it(`checksum ${checksum}: a part and a small object damaged in flight are refused, sent again, and land intact`, async () => {
      const proxy = await damagingFirstBodies();
      try {
        const { intact, stats } = await writeThrough(proxy, checksum, `ck-${checksum}`);
        expect(proxy.requests.filter((r) => r.corrupted)).toHaveLength(2);
        expect(intact).toEqual({ "small.bin": true, "big.bin": true });
        // Swift answers BadDigest (400) to each damaged body; the store retries it.
        expect(stats.requestsByStatus.uploadPart).toEqual({ "200": 3, "400": 1 });
        expect(stats.requestsByStatus.putObject).toEqual({ "200": 1, "400": 1 });
        expect(stats.retries).toBe(2);
        // One digest per body, never two: SHA-256 in the signature, or Content-MD5 unsigned.
        const sent = digests(proxy);
        // small.bin twice, big.bin's three parts and the damaged one again.
        expect(sent).toHaveLength(6);
        for (const d of sent) {
          if (checksum === "md5") {
            expect(d).toEqual({ payload: "UNSIGNED-PAYLOAD", md5: true });
          } else {
            expect(d.payload).toMatch(/^[0-9a-f]{64}$/);
            expect(d.md5).toBe(false);
          }
        }
      } finally {
        await proxy.close();
      }
    });
  }

  it("checksum none: the same damage goes unnoticed and the objects hold the wrong bytes", async () => {
    const proxy = await damagingFirstBodies();
    try {
      const { intact, stats } = await writeThrough(proxy, "none", "ck-none");
      expect(proxy.requests.filter((r) => r.corrupted)).toHaveLength(2);
      expect(intact).toEqual({ "small.bin": false, "big.bin": false });
      expect(stats.retries).toBe(0);
      for (const d of digests(proxy)) expect(d).toEqual({ payload: "UNSIGNED-PAYLOAD", md5: false });
    } finally {
      await proxy.close();
    }
  });
});
