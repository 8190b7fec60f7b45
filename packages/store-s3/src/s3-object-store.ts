import { MemoryUploadLedger, StorageError, type ObjectStore, type StagedRef, type TorrentLayout, type UploadLedger } from "@shoal/coordination";
import { parseS3StoreConfig, type S3StoreConfig, type S3StoreConfigInput } from "./config.js";
import { MemoryStaging } from "./memory-staging.js";
import { openTorrentState } from "./open-torrent.js";
import { S3Requests } from "./s3-requests.js";
import { S3Counters, type S3StoreStats } from "./s3-stats.js";
import { Slots, mapLimit } from "./slots.js";
import { SpareBuffers } from "./spare-buffers.js";
import { TorrentState, heldBytes, unfilledBytes, type ObjectState, type UnitState } from "./torrent-state.js";
import { checkPiece, compareWithObject } from "./piece-checks.js";
import { readTorrentRange } from "./torrent-reads.js";
import { checkFinalSizes } from "./final-sizes.js";
import { objectMetadata } from "./object-keys.js";

export interface S3ObjectStoreDeps {
  /** Upload ids and part ETags; default a MemoryUploadLedger of this store's own. */
  readonly ledger?: UploadLedger;
  /** Receives each staged buffer once dropped, so the producer can reuse it. */
  readonly recycle?: (buf: Buffer) => void;
  /** Randomness for back-off jitter (injected so tests can pin it). */
  readonly random?: () => number;
}

/**
 * The S3 ObjectStore. Each selected file of a torrent becomes one object at
 * `<prefix>/<name>/<path>` (`<prefix>/<name>` for a single-file torrent): a PUT when small, a
 * multipart upload cut into parts on piece boundaries otherwise (see `planWrites`). Verified
 * pieces are copied into the buffers of the units (parts, small objects) they fall in; a unit is
 * uploaded as soon as all its bytes are there, and a piece is reported durable once every unit
 * holding its bytes is. Each payload byte is written to the bucket once and read back only to
 * serve uploads and rechecks. Upload ids and part ETags live in an UploadLedger, so another
 * store instance resumes unfinished uploads. Staging is in memory.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly config: S3StoreConfig;
  private readonly s3: S3Requests;
  private readonly counters = new S3Counters();
  private readonly ledger: UploadLedger;
  private readonly staging: MemoryStaging;
  private readonly uploads: Slots;
  private readonly torrents = new Map<string, TorrentState>();
  /**
   * Unit buffers whose upload finished, for the next units: a fresh 16 MiB buffer costs page
   * faults on every first write (profiling showed copying pieces into parts as the writer's
   * largest cost) and garbage collection later. A buffer comes back as its upload ends and the
   * next unit to fill takes it, so more than the uploads in flight are seldom idle at once: that
   * many parts is the allowance (64 MiB at the defaults), and more would only hold memory idle.
   */
  private readonly spare: SpareBuffers;
  private readonly opening = new Map<string, Promise<void>>();
  /** Bytes of unit buffers no piece has filled yet, over every open torrent (see `piecewise`). */
  private unfilled = 0;

  constructor(config: S3StoreConfigInput, deps: S3ObjectStoreDeps = {}) {
    this.config = parseS3StoreConfig(config);
    this.ledger = deps.ledger ?? new MemoryUploadLedger();
    this.staging = new MemoryStaging(deps.recycle ?? (() => {}));
    this.s3 = new S3Requests(this.config, this.counters, deps.random);
    this.uploads = new Slots(this.config.maxConcurrentUploads);
    this.spare = new SpareBuffers(this.config.maxConcurrentUploads * this.config.partSizeMiB * 1024 * 1024);
  }

  /** The bucket objects land in (the config itself stays private: it holds the secret key). */
  get bucket(): string {
    return this.config.bucket;
  }

  /** The key prefix, without slashes at either end; empty for the bucket's top. */
  get prefix(): string {
    return this.config.prefix;
  }

  /** Bytes and requests so far, and the bytes buffered now. */
  stats(): S3StoreStats {
    return this.counters.snapshot();
  }

  /** Bytes held in staging right now. */
  get stagedBytes(): number {
    return this.staging.bytes;
  }

  /**
   * Plans the torrent's objects and learns what is already done: the ledger's uploads and parts
   * (resumed, not restarted), and objects already finished in the bucket (one LIST under the
   * torrent's root). A missing bucket or bad credentials fail here, before any download.
   */
  async openTorrent(layout: TorrentLayout): Promise<void> {
    if (this.torrents.has(layout.infoHash)) return;
    let p = this.opening.get(layout.infoHash);
    if (!p) {
      p = openTorrentState(layout, this.config, this.ledger, this.s3)
        .then((t) => void this.torrents.set(layout.infoHash, t))
        .finally(() => this.opening.delete(layout.infoHash));
      this.opening.set(layout.infoHash, p);
    }
    return p;
  }

  async putStaged(ref: StagedRef, data: Uint8Array): Promise<void> {
    this.staging.put(ref, data);
  }

  async getStaged(ref: StagedRef): Promise<Buffer> {
    return this.staging.get(ref);
  }

  async deleteStaged(ref: StagedRef): Promise<void> {
    this.staging.delete(ref);
  }

  /**
   * Copies the piece into the units it touches, uploads every unit that is now full, and
   * resolves with the pieces that became durable: held pieces of the units uploaded since the
   * last report whose other units are durable too, and this piece if it already was. Bytes of
   * skipped files are dropped. A failed upload leaves its unit full and buffered; the next write
   * of any of its pieces tries it again.
   */
  async writePiece(infoHash: string, piece: number, data: Uint8Array): Promise<readonly number[]> {
    const t = this.torrent(infoHash);
    checkPiece(t, piece, data);
    const units = t.unitsOf(piece);
    for (const u of units) {
      if (u.status === "existing" && !u.checked.has(piece)) await compareWithObject(t, u, piece, data, this.s3, this.config.bucket);
    }
    for (const u of units) {
      if (u.status === "open") this.change(u, () => (this.counters.bufferedBytes += t.copyInto(u, piece, data, (n) => this.spare.take(n), this.piecewise(t, u))));
    }
    t.held.add(piece);
    // Start every full unit before waiting on any, so a piece that fills two units uploads both at once.
    const ready = units.filter((u) => u.status === "open" && t.isFull(u));
    const results = await Promise.allSettled(ready.map((u) => this.startUpload(t, u)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    // Units that did upload stay in `fresh`, so the next write (the bus redelivers this piece)
    // reports the pieces they made durable.
    if (failed) throw failed.reason;
    const candidates = new Set<number>([piece]);
    for (const u of t.fresh) for (let p = u.first; p <= u.last; p++) candidates.add(p);
    t.fresh.clear();
    return t.takeDurable(candidates);
  }

  /**
   * Bytes of the selected files: from the buffers of units still filling, else by ranged GETs
   * of finished objects. Undefined when a byte is in an object not finished yet (an unfinished
   * multipart upload cannot be read), in a piece never written, or in a skipped file (whose
   * bytes the store drops). Padding reads as zeros.
   */
  async readRange(infoHash: string, offset: number, length: number): Promise<Buffer | undefined> {
    return readTorrentRange(this.torrent(infoHash), offset, length, this.s3, this.config);
  }

  /**
   * Deletes every finished object holding bytes of a damaged piece (S3 cannot rewrite part of
   * one) and forgets it in the ledger, so the torrent's writer plans it afresh and uploads it
   * whole; returns the other pieces with bytes in those objects, which must be fetched again.
   */
  async discardDamaged(infoHash: string, pieces: readonly number[]): Promise<readonly number[]> {
    const t = this.torrent(infoHash);
    const damaged = new Set<ObjectState>();
    for (const p of pieces) {
      for (const u of t.unitsOf(p)) {
        const obj = t.objects[u.unit.object]!;
        if (obj.complete) damaged.add(obj);
      }
    }
    const refetch = new Set<number>();
    for (const obj of damaged) {
      await this.s3.deleteObject(obj.key);
      await this.ledger.forgetObject(infoHash, obj.key);
      obj.complete = false;
      for (const ui of obj.planned.units) {
        const u = t.units[ui]!;
        this.resetUnit(u);
        for (let p = u.first; p <= u.last; p++) refetch.add(p);
      }
    }
    for (const p of pieces) refetch.delete(p);
    return [...refetch].sort((a, b) => a - b);
  }

  /**
   * Uploads whatever is still buffered (zeros where pieces never came, as a file system's
   * truncate would leave them), completes every multipart upload with all its parts in order,
   * PUTs empty files as zero-byte objects, and checks each object's size (one listing, a HEAD
   * only for what the listing does not show right). The
   * ledger's records of the torrent are dropped: the bucket now says everything.
   */
  async finalize(infoHash: string): Promise<void> {
    const t = this.torrent(infoHash);
    await this.settle(t);
    const rest = t.units.filter((u) => u.status === "open");
    for (const u of rest) this.change(u, () => (this.counters.bufferedBytes += t.fillHoles(u, (n) => this.spare.take(n))));
    const uploaded = await Promise.allSettled(rest.map((u) => this.startUpload(t, u)));
    const failed = uploaded.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    await mapLimit(t.objects, this.config.maxConcurrentUploads, (obj) => this.finishObject(t, obj));
    await checkFinalSizes(t.layout, t.objects, this.config, this.s3);
    await this.ledger.forgetTorrent(infoHash);
  }

  /**
   * Aborts every unfinished multipart upload of the torrent and drops buffered pieces; finished
   * objects stay. The torrent stays open: a later write starts afresh.
   */
  async abortTorrent(infoHash: string): Promise<void> {
    const t = this.torrent(infoHash);
    await this.settle(t);
    const open = t.objects.filter((o) => !o.complete && o.uploadId !== undefined).map((o) => ({ obj: o, uploadId: o.uploadId! }));
    for (const o of t.objects) {
      if (o.complete) continue;
      o.uploadId = undefined;
      for (const ui of o.planned.units) this.resetUnit(t.units[ui]!);
    }
    t.held.clear();
    t.fresh.clear();
    await mapLimit(open, this.config.maxConcurrentUploads, async ({ obj, uploadId }) => {
      await this.s3.abortMultipartUpload(obj.key, uploadId);
      await this.ledger.forgetObject(infoHash, obj.key);
    });
  }

  /** Waits for uploads in flight, then forgets the torrent; the bucket and the ledger keep everything. */
  async closeTorrent(infoHash: string): Promise<void> {
    const t = this.torrents.get(infoHash);
    if (!t) return;
    await this.settle(t);
    for (const u of t.units) this.resetUnit(u);
    this.torrents.delete(infoHash);
    this.staging.dropTorrent(infoHash);
  }

  /**
   * Requests in flight finish (or fail) on their own, but no failed one is tried again, so a
   * close against an unreachable server does not wait out the whole back-off.
   */
  async close(): Promise<void> {
    this.s3.stopRetrying();
    for (const ih of [...this.torrents.keys()]) await this.closeTorrent(ih);
    this.s3.destroy();
  }

  /**
   * Whether a unit with no buffer yet starts piece by piece: once the bytes of unit buffers that
   * no piece has filled would pass `fillBufferMiB` with this unit's. Units that fill in turn, as
   * claim runs fill parts, stay well below it; units each holding a piece or two pass it. A unit
   * of at most one piece gains nothing from it.
   */
  private piecewise(t: TorrentState, u: UnitState): boolean {
    return !u.buf && u.unit.length > t.layout.pieceLength && this.unfilled + u.unit.length > this.config.fillBufferMiB * 1024 * 1024;
  }

  /** Runs a change of `u`'s buffer and keeps the count of unfilled bytes in step with it. */
  private change<T>(u: UnitState, fn: () => T): T {
    const before = unfilledBytes(u);
    const out = fn();
    this.unfilled += unfilledBytes(u) - before;
    return out;
  }

  /** Uploads one full unit within the store's upload slots; a failed unit goes back to `open`, still full. */
  private startUpload(t: TorrentState, u: UnitState): Promise<void> {
    u.status = "uploading";
    const run = this.uploads.run(() => this.uploadUnit(t, u)).catch((err: unknown) => {
      if (u.status === "uploading") u.status = "open";
      throw err;
    });
    const tracked = run.catch(() => undefined);
    t.inflight.add(tracked);
    void tracked.then(() => t.inflight.delete(tracked));
    return run;
  }

  private async uploadUnit(t: TorrentState, u: UnitState): Promise<void> {
    const obj = t.objects[u.unit.object]!;
    // A unit filled piece by piece gets its buffer now, within an upload slot.
    this.change(u, () => (this.counters.bufferedBytes += t.gather(u, (n) => this.spare.take(n))));
    const body = u.buf!;
    if (obj.planned.kind === "single") {
      await this.s3.putObject(obj.key, body, objectMetadata(t.layout, obj.file));
      // An object with zeros for pieces that never came is not one the ledger may vouch for.
      if (u.holes) await this.ledger.forgetObject(t.infoHash, obj.key);
      else await this.ledger.recordComplete(t.infoHash, obj.key);
      obj.complete = true;
    } else {
      const uploadId = await this.ensureUpload(t, obj);
      const res = await this.s3.uploadPart(obj.key, uploadId, u.unit.partNumber, body);
      if (!res.ok) throw await this.lostUpload(t, obj, uploadId);
      if (!u.holes) await this.ledger.recordPart(t.infoHash, obj.key, uploadId, { partNumber: u.unit.partNumber, etag: res.value, size: u.unit.length });
      u.etag = res.value;
    }
    u.status = obj.complete && u.holes ? "existing" : "uploaded";
    t.fresh.add(u);
    if (u.status === "existing") for (const p of u.received) u.checked.add(p);
    if (!u.holes) u.received.clear();
    // The request is over: the body's memory can hold the next unit's bytes.
    const buf = u.buf;
    this.freeBuffer(u);
    if (buf) this.spare.give(buf);
  }

  /** The object's multipart upload, created (and recorded) by the first part that needs it. */
  private async ensureUpload(t: TorrentState, obj: ObjectState): Promise<string> {
    if (obj.uploadId !== undefined) return obj.uploadId;
    if (!obj.creating) {
      obj.creating = (async () => {
        const id = await this.s3.createMultipartUpload(obj.key, objectMetadata(t.layout, obj.file));
        await this.ledger.beginUpload(t.infoHash, obj.key, id);
        obj.uploadId = id;
        return id;
      })().finally(() => {
        obj.creating = undefined;
      });
    }
    return obj.creating;
  }

  /**
   * The upload vanished (aborted from outside, or expired by a lifecycle rule): its parts, and the
   * pieces reported durable in them, are gone, which only a recheck of the torrent can repair.
   */
  private async lostUpload(t: TorrentState, obj: ObjectState, uploadId: string): Promise<StorageError> {
    obj.uploadId = undefined;
    for (const ui of obj.planned.units) {
      const u = t.units[ui]!;
      if (u.status === "uploaded") this.resetUnit(u);
    }
    await this.ledger.forgetObject(t.infoHash, obj.key);
    return new StorageError("IO", `multipart upload ${uploadId} of s3://${this.config.bucket}/${obj.key} is gone (aborted, or expired by a lifecycle rule); pieces stored in it are lost until a recheck`, {
      context: { op: "s3.uploadPart", key: obj.key, uploadId },
      retryable: false,
    });
  }

  /** Completes a multipart object or PUTs an empty one; finished objects are left alone. */
  private async finishObject(t: TorrentState, obj: ObjectState): Promise<void> {
    if (obj.complete) return;
    if (obj.planned.kind === "empty") {
      await this.s3.putObject(obj.key, Buffer.alloc(0), objectMetadata(t.layout, obj.file));
      await this.ledger.recordComplete(t.infoHash, obj.key);
      obj.complete = true;
      return;
    }
    const units = obj.planned.units.map((ui) => t.units[ui]!);
    const uploadId = obj.uploadId!;
    const res = await this.s3.completeMultipartUpload(obj.key, uploadId, units.map((u) => ({ part: u.unit.partNumber, etag: u.etag! })));
    // No such upload: an earlier attempt completed it and its answer was lost, or it is gone.
    if (!res.ok && (await this.s3.headObject(obj.key))?.size !== obj.planned.length) throw await this.lostUpload(t, obj, uploadId);
    const holes = units.some((u) => u.holes);
    if (holes) await this.ledger.forgetObject(t.infoHash, obj.key);
    else await this.ledger.recordComplete(t.infoHash, obj.key);
    obj.complete = true;
    obj.uploadId = undefined;
    for (const u of units) {
      if (!u.holes) continue;
      u.status = "existing";
      for (const p of u.received) u.checked.add(p);
    }
  }

  private resetUnit(u: UnitState): void {
    this.freeBuffer(u);
    u.status = "open";
    u.received.clear();
    u.checked.clear();
    u.holes = false;
    u.etag = undefined;
  }

  private freeBuffer(u: UnitState): void {
    this.counters.bufferedBytes -= heldBytes(u);
    this.unfilled -= unfilledBytes(u);
    u.buf = undefined;
    u.segments = undefined;
    u.filled = 0;
  }

  /** Waits until no upload of the torrent is in flight (uploads may start others while we wait). */
  private async settle(t: TorrentState): Promise<void> {
    while (t.inflight.size > 0) await Promise.all([...t.inflight]);
  }

  private torrent(infoHash: string): TorrentState {
    const t = this.torrents.get(infoHash);
    if (!t) throw new StorageError("UNKNOWN_TORRENT", `torrent ${infoHash} was not opened in the store`, { context: { infoHash } });
    return t;
  }
}
