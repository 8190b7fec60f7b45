import { piecesOfFile, relativeFilePath, type InfoDict } from "@shoal/metainfo";
import { pieceReads, type VerifyPlan } from "./verify-plan.js";

/**
 * What the piece hashes and sizes of a check say about each file. Pure, like the plan: outcomes
 * come in as an array, so the rules are tested without reading anything.
 */

/** What hashing said about a planned piece. */
export const PIECE_OUTCOME = { notHashed: 0, good: 1, bad: 2 } as const;
export type PieceOutcome = (typeof PIECE_OUTCOME)[keyof typeof PIECE_OUTCOME];

/**
 * A file's verdict: `ok`; `missing`; `wrong-size` (longer or shorter than the torrent says);
 * `bad-pieces` (a piece holding its bytes failed its hash); `unchecked` (pieces holding its
 * bytes could not be hashed because another selected file lacks its part of them);
 * `unselected` (not part of the check). The first that applies, in that order of severity.
 */
export type FileStatus = "ok" | "missing" | "wrong-size" | "bad-pieces" | "unchecked" | "unselected";

export interface FileVerdict {
  /** Index in `meta.files`. */
  readonly fileIndex: number;
  /** The file's number as `shoal info` lists it and `--select` takes it. */
  readonly number: number;
  /** `<name>/<path>` (a single-file torrent: `<name>`), as `shoal info` shows it. */
  readonly path: string;
  /** Bytes the torrent says the file has. */
  readonly length: number;
  /** Bytes found; null when the file is missing. */
  readonly size: number | null;
  readonly selected: boolean;
  readonly status: FileStatus;
  /** Pieces that hold bytes of this file. */
  readonly pieces: number;
  /** Pieces holding bytes of this file that failed their hash, ascending. */
  readonly badPieces: readonly number[];
  /**
   * Pieces holding bytes of this file that could not be hashed because another file lacks its
   * part of them (missing, too short, or unselected and not there), ascending.
   */
  readonly uncheckedPieces: readonly number[];
  /** The numbers of the files whose absent bytes left those pieces unchecked. */
  readonly blockedBy: readonly number[];
}

export interface VerifyReport {
  /** True when every selected file is `ok`. */
  readonly ok: boolean;
  /** Every file of the torrent except padding, in the torrent's order. */
  readonly files: readonly FileVerdict[];
  readonly selectedFiles: number;
  /** Bytes of the selected files. */
  readonly selectedBytes: number;
  /** Planned pieces; of those, hashed and matching, hashed and failing, and not hashed. */
  readonly pieces: { readonly planned: number; readonly good: number; readonly bad: number; readonly unchecked: number };
}

/**
 * Turns sizes and piece outcomes into a verdict per file. A failing piece counts against every
 * file it holds bytes of (a hash cannot say which file's bytes are wrong). A piece that could not
 * be hashed counts as unchecked for the files whose bytes are there; it makes a selected file
 * `unchecked` only when a selected file kept it from being hashed: bytes that a narrower
 * selection left out (an unselected file that is not there) are the selection's consequence,
 * not a fault.
 */
export function tallyVerdicts(meta: InfoDict, plan: VerifyPlan, sizes: readonly (number | undefined)[], outcomes: Uint8Array): VerifyReport {
  const n = meta.files.length;
  const bad: number[][] = Array.from({ length: n }, () => []);
  const unchecked: number[][] = Array.from({ length: n }, () => []);
  const blockers: Set<number>[] = Array.from({ length: n }, () => new Set());
  const blockedBySelected = new Uint8Array(n);
  let good = 0;
  let badCount = 0;
  let notHashed = 0;
  for (const r of pieceReads(meta, plan, sizes)) {
    const touched = [...new Set(r.spans.filter((s) => !meta.files[s.fileIndex]!.padding && s.length > 0).map((s) => s.fileIndex))];
    if (r.blockedBy.length > 0) {
      notHashed++;
      for (const f of touched) {
        if (r.blockedBy.includes(f)) continue;
        unchecked[f]!.push(r.piece);
        for (const b of r.blockedBy) {
          blockers[f]!.add(b);
          if (plan.selected[b]) blockedBySelected[f] = 1;
        }
      }
      continue;
    }
    const o = outcomes[r.piece];
    if (o === PIECE_OUTCOME.good) good++;
    else if (o === PIECE_OUTCOME.bad) {
      badCount++;
      for (const f of touched) bad[f]!.push(r.piece);
    } else notHashed++;
  }
  const numberOf = new Map<number, number>();
  meta.files.forEach((f, i) => {
    if (!f.padding) numberOf.set(i, numberOf.size);
  });
  const files: FileVerdict[] = [];
  let selectedFiles = 0;
  let selectedBytes = 0;
  meta.files.forEach((f, i) => {
    if (f.padding) return;
    const selected = plan.selected[i] === true;
    const size = sizes[i] ?? null;
    if (selected) {
      selectedFiles++;
      selectedBytes += f.length;
    }
    const { first, last } = piecesOfFile(meta, i);
    let status: FileStatus;
    if (!selected) status = "unselected";
    else if (size === null) status = "missing";
    else if (size !== f.length) status = "wrong-size";
    else if (bad[i]!.length > 0) status = "bad-pieces";
    else if (blockedBySelected[i]) status = "unchecked";
    else status = "ok";
    files.push({
      fileIndex: i,
      number: numberOf.get(i)!,
      path: relativeFilePath(meta, f),
      length: f.length,
      size,
      selected,
      status,
      pieces: Math.max(0, last - first + 1),
      badPieces: bad[i]!,
      uncheckedPieces: unchecked[i]!,
      blockedBy: [...blockers[i]!].sort((a, b) => a - b).map((b) => numberOf.get(b)!),
    });
  });
  return {
    ok: files.every((v) => !v.selected || v.status === "ok"),
    files,
    selectedFiles,
    selectedBytes,
    pieces: { planned: plan.pieces.length, good, bad: badCount, unchecked: notHashed },
  };
}
