import { createHash } from "node:crypto";
import type { ObjectStore } from "@shoal/coordination";
import { pieceHash, pieceLengthOf, type InfoDict } from "@shoal/metainfo";

/** What the destination holds of a torrent, piece by piece. */
export interface RecheckResult {
  /** Pieces whose bytes are all there and match their SHA-1. */
  readonly intact: number[];
  /**
   * Pieces whose bytes are all there but do not match: changed after they were written (or never
   * this torrent's). Pieces with bytes missing (never written, or in an upload not finished)
   * are in neither list.
   */
  readonly damaged: number[];
}

/**
 * Hashes whatever data the destination already holds. Files from an earlier run (or copied in by
 * hand) are checked, never trusted: only pieces whose bytes match their SHA-1 count as stored,
 * so a resumed download fetches exactly the rest.
 */
export async function recheckExisting(
  store: ObjectStore,
  meta: InfoDict,
  signal: AbortSignal,
  onProgress?: (checked: number) => void,
  skip?: (piece: number) => boolean,
): Promise<RecheckResult> {
  const intact: number[] = [];
  const damaged: number[] = [];
  for (let i = 0; i < meta.pieceCount; i++) {
    if (signal.aborted) break;
    // Pieces no selected file needs are neither downloaded nor served: no need to read them.
    if (skip?.(i)) continue;
    const data = await store.readRange(meta.infoHashHex, i * meta.pieceLength, pieceLengthOf(meta, i));
    if (data) (createHash("sha1").update(data).digest().equals(Buffer.from(pieceHash(meta, i))) ? intact : damaged).push(i);
    if (onProgress && i % 64 === 0) onProgress(i);
  }
  return { intact, damaged };
}
