import { StorageError, type ObjectStore, type StagedRef, type TorrentLayout } from "@shoal/coordination";
import { loadConfig } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
import { S3ObjectStore, s3StoreConfigSchema, type UploadLedger } from "@shoal/store-s3";
import { formatDestination, parseDestination, type Destination } from "./destination.js";
import type { S3Connection } from "./s3-connection.js";

export interface RoutingStoreOptions {
  /** The destination a torrent's job named (`s3://BUCKET/PREFIX` or a directory), from the catalog. */
  readonly destinationOf: (infoHash: string) => Promise<string>;
  /** How to reach S3; a torrent bound for a bucket fails with a StorageError naming what is missing when absent. */
  readonly s3?: S3Connection;
  /** Upload ids and part ETags, shared by every writer of the cluster (Redis); per store in memory when absent. */
  readonly ledger?: UploadLedger;
  /** `SHOAL_S3_*` tuning (part size, uploads in flight, retries), read with the S3 store's schema. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Receives staged buffers once dropped (embedded mode's buffer pool). */
  readonly recycle?: (buf: Buffer) => void;
}

/**
 * One ObjectStore for every destination a process writes to: each torrent goes to the store of
 * the destination its job named, a directory (the filesystem store) or a bucket and prefix (the
 * S3 store), opened on first use and shared by the torrents bound there.
 */
export class RoutingStore implements ObjectStore {
  private readonly stores = new Map<string, ObjectStore>();
  private readonly byTorrent = new Map<string, ObjectStore>();
  private readonly resolving = new Map<string, Promise<ObjectStore>>();

  constructor(private readonly o: RoutingStoreOptions) {}

  /** The store a torrent's bytes go to, opened on first use. */
  storeOf(infoHash: string): Promise<ObjectStore> {
    const known = this.byTorrent.get(infoHash);
    if (known) return Promise.resolve(known);
    let p = this.resolving.get(infoHash);
    if (!p) {
      p = this.o.destinationOf(infoHash).then((raw) => {
        const store = this.storeFor(parseDestination(raw));
        this.byTorrent.set(infoHash, store);
        return store;
      });
      p.catch(() => undefined).finally(() => this.resolving.delete(infoHash));
      this.resolving.set(infoHash, p);
    }
    return p;
  }

  /** The stores opened so far, by destination (for stats). */
  get opened(): ReadonlyMap<string, ObjectStore> {
    return this.stores;
  }

  private storeFor(d: Destination): ObjectStore {
    const key = formatDestination(d);
    let store = this.stores.get(key);
    if (store) return store;
    if (d.kind === "dir") {
      store = new FsObjectStore(d.path, this.o.recycle);
    } else {
      if (!this.o.s3) {
        throw new StorageError("IO", `no S3 endpoint is configured for ${key}: set --s3 or SHOAL_S3_ENDPOINT`, {
          retryable: false,
          context: { op: "store.route", destination: key },
        });
      }
      const config = loadConfig(s3StoreConfigSchema, {
        prefix: "s3",
        env: this.o.env ?? {},
        overrides: { ...this.o.s3, bucket: d.bucket, prefix: d.prefix },
      });
      store = new S3ObjectStore(config, { ...(this.o.ledger ? { ledger: this.o.ledger } : {}), ...(this.o.recycle ? { recycle: this.o.recycle } : {}) });
    }
    this.stores.set(key, store);
    return store;
  }

  async openTorrent(layout: TorrentLayout): Promise<void> {
    await (await this.storeOf(layout.infoHash)).openTorrent(layout);
  }
  async putStaged(ref: StagedRef, data: Uint8Array): Promise<void> {
    await (await this.storeOf(ref.infoHash)).putStaged(ref, data);
  }
  async getStaged(ref: StagedRef): Promise<Buffer> {
    return (await this.storeOf(ref.infoHash)).getStaged(ref);
  }
  async deleteStaged(ref: StagedRef): Promise<void> {
    await (await this.storeOf(ref.infoHash)).deleteStaged(ref);
  }
  async writePiece(infoHash: string, piece: number, data: Uint8Array): Promise<readonly number[]> {
    return (await this.storeOf(infoHash)).writePiece(infoHash, piece, data);
  }
  async readRange(infoHash: string, offset: number, length: number): Promise<Buffer | undefined> {
    return (await this.storeOf(infoHash)).readRange(infoHash, offset, length);
  }
  async discardDamaged(infoHash: string, pieces: readonly number[]): Promise<readonly number[]> {
    return (await this.storeOf(infoHash)).discardDamaged(infoHash, pieces);
  }
  async finalize(infoHash: string): Promise<void> {
    await (await this.storeOf(infoHash)).finalize(infoHash);
  }
  async abortTorrent(infoHash: string): Promise<void> {
    await (await this.storeOf(infoHash)).abortTorrent(infoHash);
  }
  async closeTorrent(infoHash: string): Promise<void> {
    const store = this.byTorrent.get(infoHash);
    if (!store) return;
    await store.closeTorrent(infoHash);
    this.byTorrent.delete(infoHash);
  }
  async close(): Promise<void> {
    const all = [...this.stores.values()];
    this.stores.clear();
    this.byTorrent.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}

/**
 * Throws ConfigError for a bad or misspelt `SHOAL_S3_*` tuning setting (part size, uploads in
 * flight, retries...). Each process calls it at start, before it reaches any backend, so such a
 * setting stops it as every other setting does rather than failing the first job bound for a
 * bucket. The endpoint and credentials are checked where they are read.
 */
export function checkS3Tuning(env: Readonly<Record<string, string | undefined>>): void {
  loadConfig(s3StoreConfigSchema, {
    prefix: "s3",
    env,
    overrides: { endpoint: "http://127.0.0.1", accessKey: "-", secretKey: "-", bucket: "shoal", prefix: "" },
  });
}
