export interface WebSeedPick {
  readonly pieceCount: number;
  /** May this worker claim the piece (not stored, not in progress here, not known claimed elsewhere)? */
  readonly eligible: (piece: number) => boolean;
  /** Pieces per run to claim at most. */
  readonly maxPieces: number;
  /** The last piece this web seed fetched: continue right after it when that is still free. */
  readonly after?: number;
  /** Claim-run window length in pieces (0: none): a run opened mid-gap starts on a window edge. */
  readonly runPieces: number;
}

/**
 * Pieces a web seed should claim next, in order: consecutive, so each file's bytes come in as
 * few HTTP requests as possible and, in a cluster, S3 parts fill up in order.
 *
 * A web seed goes on where it left off when it can. Otherwise it takes the middle of the longest
 * stretch of claimable pieces: connections fetch from the edges of what is done or claimed
 * (rarest first, and claim runs grow regions from their edges), so the middle of the largest gap
 * is as far from them as the torrent allows, and two web seeds (or two workers' web seeds)
 * starting that way split the gap instead of racing for its first pieces. A short gap is taken
 * from its start. Costs one pass over the torrent when there is no continuation.
 */
export function pickWebSeedRun(pick: WebSeedPick): number[] {
  const { pieceCount, eligible, maxPieces } = pick;
  if (maxPieces <= 0) return [];
  let start = -1;
  if (pick.after !== undefined && pick.after + 1 < pieceCount && eligible(pick.after + 1)) start = pick.after + 1;
  if (start < 0) {
    let bestStart = -1;
    let bestLength = 0;
    for (let i = 0; i < pieceCount; ) {
      if (!eligible(i)) {
        i++;
        continue;
      }
      let j = i;
      while (j < pieceCount && eligible(j)) j++;
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j;
    }
    if (bestStart < 0) return [];
    start = bestStart;
    if (bestLength > 2 * maxPieces) {
      let mid = bestStart + Math.floor(bestLength / 2);
      // On a window edge when one is inside the gap, so the run fills whole windows (S3 parts).
      if (pick.runPieces > 0) {
        const aligned = mid - (mid % pick.runPieces);
        if (aligned > bestStart) mid = aligned;
      }
      start = mid;
    }
  }
  const run: number[] = [];
  for (let i = start; i < pieceCount && run.length < maxPieces && eligible(i); i++) run.push(i);
  return run;
}

/**
 * Seconds of a web seed's measured rate one request should take. Long enough that request
 * gaps and the claim round trip are noise, short enough that a slow mirror holds few pieces:
 * its runs are not shared with connections, so the end of a download waits for them.
 */
export const WEB_SEED_REQUEST_SECONDS = 10;

/**
 * Bytes the next run of a web seed should cover: `WEB_SEED_REQUEST_SECONDS` of its measured
 * rate per request, between one piece and `maxBytes`. Before anything was measured, a quarter of
 * `maxBytes`, so a first run on a slow mirror is not the largest.
 */
export function webSeedRunBytes(bytesPerSecond: number | undefined, maxBytes: number, pieceLength: number): number {
  const wanted = bytesPerSecond === undefined ? maxBytes / 4 : bytesPerSecond * WEB_SEED_REQUEST_SECONDS;
  return Math.max(pieceLength, Math.min(maxBytes, wanted));
}
