import { StorageError, type TorrentLayout, type TreeReader } from "@shoal/coordination";
import { parseS3StoreConfig, type S3StoreConfig, type S3StoreConfigInput } from "./config.js";
import { objectKey, torrentRootKey } from "./object-keys.js";
import { S3Requests } from "./s3-requests.js";
import { S3Counters, type S3StoreStats } from "./s3-stats.js";

/**
 * Reads a torrent's objects where the S3 store puts them (`<prefix>/<name>/<path>`, a single-file
 * torrent at `<prefix>/<name>`), read-only: one LIST under the torrent's root for every size
 * (`ceil(files / 1000)` requests), then ranged GETs, each retried with the store's policy. Keys
 * come from the same function the store names objects with, so a check looks exactly where a
 * download wrote.
 */
export class S3TreeReader implements TreeReader {
  private readonly config: S3StoreConfig;
  private readonly s3: S3Requests;
  private readonly counters = new S3Counters();
  /** Each file's object key, by layout index; undefined for padding files, which are never objects. */
  private readonly keys: readonly (string | undefined)[];

  constructor(
    config: S3StoreConfigInput,
    private readonly layout: TorrentLayout,
  ) {
    this.config = parseS3StoreConfig(config);
    this.s3 = new S3Requests(this.config, this.counters);
    this.keys = layout.files.map((f) => (f.padding ? undefined : objectKey(this.config.prefix, layout, f)));
  }

  /** Requests made and bytes read so far. */
  stats(): S3StoreStats {
    return this.counters.snapshot();
  }

  locationOf(index: number): string {
    return `s3://${this.config.bucket}/${this.keys[index] ?? ""}`;
  }

  async sizes(): Promise<readonly (number | undefined)[]> {
    const root = torrentRootKey(this.config.prefix, this.layout);
    const singleFile = this.layout.files.length === 1 && this.layout.files[0]!.path.length === 0;
    // A single-file torrent's root is its object; listing `root` also lists `root.other`, and
    // the exact key picks the right one.
    const listed = new Map((await this.s3.listObjects(singleFile ? root : `${root}/`)).map((o) => [o.key, o.size]));
    return this.keys.map((k) => (k === undefined ? undefined : listed.get(k)));
  }

  async read(index: number, offset: number, length: number): Promise<Buffer> {
    const key = this.keys[index];
    if (key === undefined) throw new RangeError(`file ${index} is padding: it has no object`);
    if (length === 0) return Buffer.alloc(0);
    const got = await this.s3.getRange(key, offset, length);
    if (!got) {
      throw new StorageError("IO", `s3.getObject failed on s3://${this.config.bucket}/${key}: the object is gone or ends before byte ${offset + length}`, {
        context: { op: "s3.getObject", bucket: this.config.bucket, key, offset, length },
        retryable: false,
      });
    }
    return got.data;
  }

  async close(): Promise<void> {
    this.s3.destroy();
  }
}
