import type { TorrentLayout, TreeReader } from "@shoal/coordination";
import { loadConfig } from "@shoal/service-kit";
import { FsTreeReader } from "@shoal/store-fs";
import { S3TreeReader, s3StoreConfigSchema } from "@shoal/store-s3";
import type { Destination } from "./destination.js";
import type { S3Connection } from "./s3-connection.js";

export interface TreeReaderOptions {
  /** How to reach S3; needed for a bucket destination. */
  readonly s3?: S3Connection;
  /** `SHOAL_S3_*` tuning (retries, timeouts), read with the S3 store's schema. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A reader of a torrent's files at a destination, looking where the store of that destination
 * writes them: the filesystem store's tree under a directory, the S3 store's objects under a
 * bucket and prefix.
 */
export function treeReaderFor(d: Destination, layout: TorrentLayout, o: TreeReaderOptions = {}): TreeReader {
  if (d.kind === "dir") return new FsTreeReader(d.path, layout);
  if (!o.s3) throw new RangeError(`no S3 connection given for s3://${d.bucket}`);
  const config = loadConfig(s3StoreConfigSchema, { prefix: "s3", env: o.env ?? {}, overrides: { ...o.s3, bucket: d.bucket, prefix: d.prefix } });
  return new S3TreeReader(config, layout);
}
