/**
 * The store's read path: bytes of a torrent's range from the units still filling in memory,
 * else by ranged GETs of finished objects, with one shared listing deciding what is finished.
 */
import type { S3StoreConfig } from "./config.js";
import { torrentRootKey } from "./object-keys.js";
import type { S3Requests } from "./s3-requests.js";
import { mapLimit } from "./slots.js";
import type { ObjectState, TorrentState, UnitState } from "./torrent-state.js";
import { unitsOfRange } from "./write-plan.js";

/**
 * Bytes of [offset, offset + length) of the selected files, or undefined when a byte is in an
 * object not finished yet, in a piece never written, or in a skipped file. Padding reads as zeros.
 */
export async function readTorrentRange(t: TorrentState, offset: number, length: number, s3: S3Requests, config: S3StoreConfig): Promise<Buffer | undefined> {
  if (!(offset >= 0 && length >= 0 && offset + length <= t.layout.totalLength)) return undefined;
  // An empty range must not reach the GET below: minio reads a whole object for length 0.
  if (length === 0) return Buffer.alloc(0);
  const end = offset + length;
  if (t.skippedIn(offset, end)) return undefined;
  // Allocated once a byte is known to be readable: a recheck of a fresh destination asks for
  // every piece and gets undefined for each, and a zeroed buffer per piece cost it a memset
  // and a page fault per 4 KiB of the whole torrent. Zeroed, because padding reads as zeros.
  let out: Buffer | undefined;
  const target = (): Buffer => (out ??= Buffer.alloc(length));
  const gets: { obj: ObjectState; fileOffset: number; length: number; at: number }[] = [];
  for (const ui of unitsOfRange(t.plan, offset, end)) {
    const u = t.units[ui]!;
    const obj = t.objects[u.unit.object]!;
    const { from, to } = t.overlap(u, offset, length);
    if ((u.buf || u.segments) && holdsRange(t, u, from, to)) {
      // Copied now: once uploaded, the unit's buffer goes back to the spares and is refilled.
      t.copyOut(u, from, to, target(), from - offset);
      continue;
    }
    if (!obj.complete && writing(t, obj)) return undefined;
    // Not known finished here: another process may have finished it since, so a listing
    // (at most one per `listingFreshMs`, shared by every read) decides, not a GET per piece.
    if (!obj.complete && (await listedSize(t, obj, s3, config)) !== obj.planned.length) return undefined;
    const fileOffset = from - obj.file.offset;
    const prev = gets[gets.length - 1];
    // Neighbouring parts of one object are read with one GET.
    if (prev && prev.obj === obj && prev.fileOffset + prev.length === fileOffset) prev.length += to - from;
    else gets.push({ obj, fileOffset, length: to - from, at: from - offset });
  }
  const parts = await mapLimit(gets, config.maxConcurrentUploads, (g) => s3.getRange(g.obj.key, g.fileOffset, g.length));
  for (const [i, got] of parts.entries()) {
    const g = gets[i]!;
    // An object of another size is not this file (an older run, another torrent of the same name).
    if (!got || got.objectSize !== g.obj.planned.length) return undefined;
  }
  // The whole range in one GET (a piece inside one object, the common case): its buffer is the answer.
  if (out === undefined && gets.length === 1 && gets[0]!.at === 0 && gets[0]!.length === length) return parts[0]!.data;
  for (const [i, got] of parts.entries()) got!.data.copy(target(), gets[i]!.at);
  return target();
}

/** The object's size in a listing of the torrent's root no older than `listingFreshMs`; undefined when absent. */
async function listedSize(t: TorrentState, obj: ObjectState, s3: S3Requests, config: S3StoreConfig): Promise<number | undefined> {
  if (!t.listing || Date.now() - t.listing.at > config.listingFreshMs) {
    t.relisting ??= (async () => {
      const singleFile = t.layout.files.length === 1 && t.layout.files[0]!.path.length === 0;
      const root = torrentRootKey(config.prefix, t.layout);
      const listed = await s3.listObjects(singleFile ? root : `${root}/`);
      t.listing = { at: Date.now(), sizes: new Map(listed.map((o) => [o.key, o.size])) };
    })().finally(() => (t.relisting = undefined));
    await t.relisting;
  }
  return t.listing!.sizes.get(obj.key);
}

/** The unit holds every byte of [from, to): each piece overlapping it has been copied in. */
function holdsRange(t: TorrentState, u: UnitState, from: number, to: number): boolean {
  const L = t.layout.pieceLength;
  for (let p = Math.floor(from / L); p <= Math.floor((to - 1) / L); p++) if (!u.received.has(p)) return false;
  return true;
}

/**
 * The store is writing the object (an upload is open, or some unit has bytes or is on its way),
 * so the bucket holds no finished copy to read.
 */
function writing(t: TorrentState, obj: ObjectState): boolean {
  if (obj.uploadId !== undefined || obj.creating !== undefined) return true;
  return obj.planned.units.some((ui) => t.units[ui]!.status !== "open" || t.units[ui]!.received.size > 0);
}
