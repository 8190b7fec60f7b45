/**
 * Checks of a piece handed to the store: that it belongs to the torrent and has its size, and,
 * for an object finished before the store saw the piece, that the object holds the same bytes.
 */
import { StorageError } from "@shoal/coordination";
import type { S3Requests } from "./s3-requests.js";
import type { TorrentState, UnitState } from "./torrent-state.js";

/** Throws for a piece outside the torrent or of the wrong size. */
export function checkPiece(t: TorrentState, piece: number, data: Uint8Array): void {
  if (!(Number.isInteger(piece) && piece >= 0 && piece < t.plan.pieceCount)) {
    throw new StorageError("IO", `piece ${piece} is outside torrent ${t.infoHash} (${t.plan.pieceCount} pieces)`, { context: { op: "s3.writePiece", piece }, retryable: false });
  }
  if (data.length !== t.pieceSize(piece)) {
    throw new StorageError("SIZE_MISMATCH", `piece ${piece} of ${t.infoHash} is ${data.length} bytes, expected ${t.pieceSize(piece)}`, {
      context: { op: "s3.writePiece", piece, length: data.length },
      retryable: false,
    });
  }
}

/**
 * A piece written into an object finished before this store saw its bytes (an earlier run, or
 * a finalize with holes): S3 cannot rewrite part of an object, so the bytes must already be
 * there. Equal bytes make the piece durable there; different ones fail for good.
 */
export async function compareWithObject(t: TorrentState, u: UnitState, piece: number, data: Uint8Array, s3: S3Requests, bucket: string): Promise<void> {
  const obj = t.objects[u.unit.object]!;
  const pieceStart = piece * t.layout.pieceLength;
  const { from, to } = t.overlap(u, pieceStart, t.pieceSize(piece));
  const got = await s3.getRange(obj.key, from - obj.file.offset, to - from);
  if (got && got.objectSize === obj.planned.length && got.data.equals(data.subarray(from - pieceStart, to - pieceStart))) {
    u.checked.add(piece);
    return;
  }
  throw new StorageError(
    "IO",
    `s3://${bucket}/${obj.key} already exists with other bytes than verified piece ${piece} at file offset ${from - obj.file.offset}; S3 cannot rewrite part of an object: delete it and download again`,
    { context: { op: "s3.writePiece", key: obj.key, piece }, retryable: false },
  );
}
