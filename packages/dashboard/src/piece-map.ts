import { deflateRawSync } from "node:zlib";
import { PIECE_STATE_CODE, PIECE_STATES, type PieceRecord, type PieceState } from "@shoal/coordination";

/**
 * A claimed piece is sent as this plus the index of the worker holding it, so the page can
 * colour claims by worker with one byte per piece. State codes (PIECE_STATE_CODE) stay below it.
 */
export const CLAIMED_BY_BASE = 16;
/** Workers told apart in one map; a claim of any later worker is sent as plain `claimed`. */
export const MAX_MAP_WORKERS = 255 - CLAIMED_BY_BASE;

/** One job's piece map as the page draws it. */
export interface PieceMap {
  readonly pieces: number;
  /** Workers that held claims, in the order their indices were given (the legend). */
  readonly workers: readonly string[];
  readonly counts: Readonly<Record<PieceState, number>>;
  /**
   * One byte per piece (a state code, or CLAIMED_BY_BASE + worker index for a claim), deflated
   * (raw, RFC 1951) and base64-encoded. Long runs of one state are the common case, so a
   * 100k-piece map is a few KB on the wire rather than 133 KB of base64.
   */
  readonly data: string;
}

/**
 * Encodes a piece table for the page. `workerIndex` keeps each worker's index (and so its
 * colour) stable across updates of one job; new workers are added to it.
 */
export function encodePieceMap(records: readonly PieceRecord[], workerIndex: Map<string, number>): PieceMap {
  const bytes = Buffer.alloc(records.length);
  const counts = Object.fromEntries(PIECE_STATES.map((s) => [s, 0])) as Record<PieceState, number>;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    counts[r.state]++;
    let code: number = PIECE_STATE_CODE[r.state];
    if (r.state === "claimed" && r.holder !== undefined) {
      let w = workerIndex.get(r.holder);
      if (w === undefined && workerIndex.size < MAX_MAP_WORKERS) {
        w = workerIndex.size;
        workerIndex.set(r.holder, w);
      }
      if (w !== undefined) code = CLAIMED_BY_BASE + w;
    }
    bytes[i] = code;
  }
  const workers: string[] = [];
  for (const [id, i] of workerIndex) workers[i] = id;
  return { pieces: records.length, workers, counts, data: deflateRawSync(bytes).toString("base64") };
}
