import type { LedgerObject, TorrentLayout, UploadLedger } from "@shoal/coordination";
import type { S3StoreConfig } from "./config.js";
import { listTorrentRoot } from "./final-sizes.js";
import { objectKey } from "./object-keys.js";
import type { S3Requests } from "./s3-requests.js";
import { TorrentState, type ObjectState } from "./torrent-state.js";
import { planWrites } from "./write-plan.js";

const MIB = 1024 * 1024;

/**
 * Plans a torrent's objects and learns what is done already, so nothing durable is uploaded
 * twice: objects the ledger records as finished, unfinished multipart uploads with their parts
 * (taken over when the recorded parts match the plan), and objects found finished in the bucket
 * (one LIST under the torrent's root, ceil(files / 1000) requests), whose bytes a later write is
 * compared with. The ledger wins over the listing: a key it has an upload for is being rewritten.
 */
export async function openTorrentState(layout: TorrentLayout, config: S3StoreConfig, ledger: UploadLedger, s3: S3Requests): Promise<TorrentState> {
  const plan = planWrites(layout, { partBytes: config.partSizeMiB * MIB, smallObjectBytes: config.smallObjectMiB * MIB });
  const objects: ObjectState[] = plan.objects.map((planned) => {
    const file = layout.files[planned.fileIndex]!;
    return { planned, file, key: objectKey(config.prefix, layout, file), uploadId: undefined, creating: undefined, complete: false };
  });
  const t = new TorrentState(layout, plan, objects);
  const records = new Map((await ledger.objects(layout.infoHash)).map((r) => [r.key, r]));
  const listed = await listTorrentRoot(layout, config, s3);
  t.listing = { at: Date.now(), sizes: listed };
  const stale: LedgerObject[] = [];
  for (const obj of objects) {
    const rec = records.get(obj.key);
    records.delete(obj.key);
    if (rec?.complete) {
      obj.complete = true;
      for (const ui of obj.planned.units) t.units[ui]!.status = "uploaded";
    } else if (rec?.uploadId !== undefined) {
      if (!adoptUpload(t, obj, rec)) stale.push(rec);
    } else if (listed.get(obj.key) === obj.planned.length) {
      obj.complete = true;
      for (const ui of obj.planned.units) t.units[ui]!.status = "existing";
    }
  }
  // Uploads the plan no longer uses (another part size, a file no longer selected) would
  // linger in the bucket, billed, until a lifecycle rule removed them.
  for (const rec of [...stale, ...records.values()]) {
    if (rec.uploadId !== undefined) await s3.abortMultipartUpload(rec.key, rec.uploadId);
    await ledger.forgetObject(layout.infoHash, rec.key);
  }
  return t;
}

/** Takes over an unfinished upload whose recorded parts match the plan; false when they do not. */
function adoptUpload(t: TorrentState, obj: ObjectState, rec: LedgerObject): boolean {
  const byPart = new Map(obj.planned.units.map((ui) => [t.units[ui]!.unit.partNumber, t.units[ui]!]));
  if (obj.planned.kind !== "multipart" || rec.parts.some((p) => byPart.get(p.partNumber)?.unit.length !== p.size)) return false;
  obj.uploadId = rec.uploadId;
  for (const p of rec.parts) {
    const u = byPart.get(p.partNumber)!;
    u.status = "uploaded";
    u.etag = p.etag;
  }
  return true;
}
