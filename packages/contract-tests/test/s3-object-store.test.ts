import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import type { ObjectStore } from "@shoal/coordination";
import { objectStoreContract } from "@shoal/contract-tests";
import { S3ObjectStore } from "@shoal/store-s3";
import { startS3Server, type S3Server } from "@shoal/testkit";

// One Swift server for the file (it takes seconds to start); each case gets its own bucket, and
// the buckets go with the server's data directory when it stops.
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

const PREFIX = "downloads/contract";

objectStoreContract({
  name: "S3ObjectStore",
  setup: async () => {
    const bucket = `contract-${randomBytes(6).toString("hex")}`;
    await s3.createBucket(bucket);
    return new S3ObjectStore({ endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKeyId, secretKey: s3.secretAccessKey, bucket, prefix: PREFIX });
  },
  teardown: (store: ObjectStore) => store.close(),
  // Everything under `<prefix>/<name>`: the single file's own key, or the keys below the folder.
  listFiles: async (store, layout) => {
    const root = `${PREFIX}/${layout.name}`;
    const out = new Map<string, number>();
    for (const o of await s3.listObjects((store as S3ObjectStore).bucket, root)) {
      if (o.key === root) out.set("", o.size);
      else if (o.key.startsWith(`${root}/`)) out.set(o.key.slice(root.length + 1), o.size);
    }
    return out;
  },
  overwriteFile: (store, layout, path, bytes) =>
    s3.putObject((store as S3ObjectStore).bucket, path === "" ? `${PREFIX}/${layout.name}` : `${PREFIX}/${layout.name}/${path}`, bytes),
  // The S3 store drops the bytes a piece has in unselected files instead of storing them apart
  // (see the store-s3 README), so they do not read back.
  keepsUnselectedBytes: false,
});
