import type { FileVerdict, VerifyReport } from "@shoal/verify";
import { formatBytes } from "./progress.js";

/** Piece numbers named per file; more are counted, not listed, so one line stays readable. */
const LISTED_PIECES = 8;

/** What `shoal verify --json` prints: a stable, documented shape. */
export interface VerifyDescription {
  readonly ok: boolean;
  readonly name: string;
  readonly infoHash: string;
  /** Where the torrent's files were looked for: `<dir>/<name>` or `s3://BUCKET/PREFIX/<name>`. */
  readonly location: string;
  /** Bytes of the selected files. */
  readonly totalBytes: number;
  readonly selectedFiles: number;
  /** Pieces holding a byte of a selected file; of those, matching, failing, and not hashed. */
  readonly pieces: { readonly planned: number; readonly good: number; readonly bad: number; readonly unchecked: number };
  /** Every file except BEP 47 padding, numbered from 0 as `shoal info` lists them. */
  readonly files: readonly {
    readonly index: number;
    readonly path: string;
    readonly length: number;
    /** Bytes found; null when missing. */
    readonly size: number | null;
    readonly selected: boolean;
    /** ok, missing, wrong-size, bad-pieces, unchecked (a selected file it shares pieces with lacks bytes), unselected. */
    readonly status: string;
    readonly pieces: number;
    readonly badPieces: readonly number[];
    readonly uncheckedPieces: readonly number[];
    /** Indices of the files whose absent bytes left `uncheckedPieces` unchecked. */
    readonly blockedBy: readonly number[];
  }[];
}

export function describeVerification(r: VerifyReport, name: string, infoHash: string, location: string): VerifyDescription {
  return {
    ok: r.ok,
    name,
    infoHash,
    location,
    totalBytes: r.selectedBytes,
    selectedFiles: r.selectedFiles,
    pieces: r.pieces,
    files: r.files.map((f) => ({
      index: f.number,
      path: f.path,
      length: f.length,
      size: f.size,
      selected: f.selected,
      status: f.status,
      pieces: f.pieces,
      badPieces: f.badPieces,
      uncheckedPieces: f.uncheckedPieces,
      blockedBy: f.blockedBy,
    })),
  };
}

/**
 * The text result: one line when everything matches ("all 12 files match (1.2 GiB, 4800
 * pieces)"); otherwise a line per file that does not match, saying how, and a summary line.
 */
export function formatVerification(r: VerifyReport): string {
  const all = r.files.length;
  const pieces = plural(r.pieces.planned, "piece");
  const lines: string[] = [];
  if (r.ok) {
    const files = r.selectedFiles === 1 ? "all 1 file matches" : `all ${r.selectedFiles} files match`;
    const selection = r.selectedFiles < all ? `; ${r.selectedFiles} of ${all} files selected` : "";
    lines.push(`${files} (${formatBytes(r.selectedBytes)}, ${pieces}${selection})`);
    const edge = new Set(r.files.filter((f) => f.selected).flatMap((f) => f.uncheckedPieces));
    if (edge.size > 0) lines.push(`${plural(edge.size, "piece")} shared with unselected files that are not there could not be checked`);
    return lines.join("\n") + "\n";
  }
  const byPath = new Map(r.files.map((f) => [f.number, f.path]));
  const counts = { missing: 0, "wrong-size": 0, "bad-pieces": 0, unchecked: 0 };
  for (const f of r.files) {
    if (!f.selected || f.status === "ok" || f.status === "unselected") continue;
    counts[f.status]++;
    lines.push(`${f.path}: ${fileProblem(f, byPath)}`);
  }
  const mismatched = counts.missing + counts["wrong-size"] + counts["bad-pieces"];
  const kinds = [
    counts.missing > 0 ? `${counts.missing} missing` : undefined,
    counts["wrong-size"] > 0 ? `${counts["wrong-size"]} of the wrong size` : undefined,
    counts["bad-pieces"] > 0 ? `${counts["bad-pieces"]} with bad pieces` : undefined,
  ].filter(Boolean);
  const of = r.selectedFiles < all ? `${r.selectedFiles} selected files` : `${r.selectedFiles} files`;
  lines.push(
    `${mismatched} of ${of} do not match (${kinds.join(", ")})` +
      (counts.unchecked > 0 ? `, ${counts.unchecked} could not be fully checked` : "") +
      `; ${r.pieces.bad} of ${pieces} bad` +
      (r.pieces.unchecked > 0 ? `, ${r.pieces.unchecked} not checked` : ""),
  );
  return lines.join("\n") + "\n";
}

function fileProblem(f: FileVerdict, byPath: ReadonlyMap<number, string>): string {
  const bad = f.badPieces.length > 0 ? `${plural(f.badPieces.length, "bad piece")} of ${f.pieces} (${pieceList(f.badPieces)})` : undefined;
  switch (f.status) {
    case "missing":
      return "missing";
    case "wrong-size": {
      const size = `wrong size: ${f.size} bytes, expected ${f.length} (${f.size! < f.length ? `${f.length - f.size!} bytes short` : `${f.size! - f.length} bytes too many`})`;
      return bad ? `${size}; ${bad}` : size;
    }
    case "bad-pieces":
      return bad!;
    default: {
      const others = f.blockedBy.map((n) => byPath.get(n) ?? `file ${n}`).join(", ");
      return `not fully checked: ${plural(f.uncheckedPieces.length, "piece")} shared with ${others}, which ${f.blockedBy.length === 1 ? "is" : "are"} missing or too short`;
    }
  }
}

function pieceList(pieces: readonly number[]): string {
  const shown = pieces.slice(0, LISTED_PIECES).join(", ");
  const word = pieces.length === 1 ? "piece" : "pieces";
  return pieces.length > LISTED_PIECES ? `${word} ${shown} and ${pieces.length - LISTED_PIECES} more` : `${word} ${shown}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
