import { StorageError, type TorrentLayout } from "@shoal/coordination";
import type { S3StoreConfig } from "./config.js";
import { torrentRootKey } from "./object-keys.js";
import type { S3Requests } from "./s3-requests.js";
import { mapLimit } from "./slots.js";
import type { ObjectState } from "./torrent-state.js";

/**
 * Every object under the torrent's root with its size: one LIST page per 1,000 keys. A
 * single-file torrent's object is the root itself (the listing may also hold siblings that
 * share its name as a prefix; callers look keys up, so those never match).
 */
export async function listTorrentRoot(layout: TorrentLayout, config: S3StoreConfig, s3: S3Requests): Promise<Map<string, number>> {
  const root = torrentRootKey(config.prefix, layout);
  const singleFile = layout.files.length === 1 && layout.files[0]!.path.length === 0;
  return new Map((await s3.listObjects(singleFile ? root : `${root}/`)).map((o) => [o.key, o.size]));
}

/**
 * Checks that every final object has its planned size. One listing answers for all of them
 * (ceil(files / 1000) requests instead of a HEAD per file: a torrent of 10,000 files took
 * minutes of HEADs); an object the listing misses or shows with another size gets a HEAD of
 * its own, since some servers (Swift among them) update listings a moment after the write.
 */
export async function checkFinalSizes(
  layout: TorrentLayout,
  objects: readonly ObjectState[],
  config: S3StoreConfig,
  s3: S3Requests,
): Promise<void> {
  const listed = await listTorrentRoot(layout, config, s3);
  const doubtful = objects.filter((obj) => listed.get(obj.key) !== obj.planned.length);
  await mapLimit(doubtful, config.maxConcurrentUploads, async (obj) => {
    const head = await s3.headObject(obj.key);
    if (head?.size !== obj.planned.length) {
      throw new StorageError("SIZE_MISMATCH", `s3://${config.bucket}/${obj.key} is ${head ? `${head.size} bytes` : "missing"} after finalize, expected ${obj.planned.length}`, {
        context: { op: "s3.finalize", key: obj.key, expected: obj.planned.length, found: head?.size ?? null },
        retryable: false,
      });
    }
  });
}
