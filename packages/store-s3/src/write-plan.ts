import { StorageError, type TorrentLayout } from "@shoal/coordination";

const MIB = 1024 * 1024;

/** S3's limits on objects and multipart uploads, as AWS documents them and MinIO and Swift enforce. */
export interface S3Limits {
  /** Smallest part of a multipart upload, the last part excepted. */
  readonly minPartBytes: number;
  /** Most parts in one multipart upload. */
  readonly maxParts: number;
  /** Largest part, and the largest object one PUT may write. */
  readonly maxPartBytes: number;
  /** Largest object. */
  readonly maxObjectBytes: number;
}

export const S3_LIMITS: S3Limits = {
  minPartBytes: 5 * MIB,
  maxParts: 10_000,
  maxPartBytes: 5 * 1024 * MIB,
  maxObjectBytes: 5 * 1024 * 1024 * MIB,
};

export interface PlanOptions {
  /** Wanted size of every part but the last; raised to S3's minimum and as far as 10,000 parts need. */
  readonly partBytes: number;
  /** Files shorter than this are one PUT; from this size on they are multipart uploads. */
  readonly smallObjectBytes: number;
  /** S3_LIMITS unless a test scales them down. */
  readonly limits?: S3Limits;
}

/**
 * One upload: a whole small object (one PUT) or one part of a multipart upload. Offsets are in
 * the torrent's byte stream; a unit never crosses a file boundary.
 */
export interface WriteUnit {
  readonly index: number;
  readonly object: number;
  /** 1-based part number within its object; 1 for a single PUT. */
  readonly partNumber: number;
  readonly start: number;
  readonly length: number;
  /** Offset of the unit's first byte within its file. */
  readonly fileOffset: number;
}

export type ObjectKind = "single" | "multipart" | "empty";

/** One object in the bucket: a selected, non-padding file of the torrent. */
export interface PlannedObject {
  readonly index: number;
  readonly fileIndex: number;
  readonly kind: ObjectKind;
  readonly length: number;
  /** Indices of its units, in part order; none for an empty file. */
  readonly units: readonly number[];
}

/** Where every selected byte of a torrent is uploaded, and how pieces map onto those uploads. */
export interface WritePlan {
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly objects: readonly PlannedObject[];
  /** Every unit, sorted by `start`: the units of one object are consecutive, in part order. */
  readonly units: readonly WriteUnit[];
}

/**
 * Cuts a torrent's selected files into write units. A file below `smallObjectBytes` is one PUT.
 * A larger one is a multipart upload whose parts are cut on piece boundaries (torrent offsets),
 * each at least `max(minPartBytes, partBytes)` long but the last, so a part holds whole pieces
 * except where its file starts or ends mid-piece. The part size grows with the file so no
 * object needs more than `maxParts` parts. A file that would get a single part is a PUT too:
 * a one-part multipart upload costs three requests for what one PUT does. Padding and skipped
 * files get no object; an empty file is an object with no units (a zero-byte PUT at finalize).
 */
export function planWrites(layout: TorrentLayout, options: PlanOptions): WritePlan {
  const limits = options.limits ?? S3_LIMITS;
  checkOptions(options, limits);
  checkLayout(layout);
  const L = layout.pieceLength;
  const objects: PlannedObject[] = [];
  const units: WriteUnit[] = [];
  for (const [fileIndex, file] of layout.files.entries()) {
    if (file.padding || file.skipped) continue;
    const object = objects.length;
    if (file.length === 0) {
      objects.push({ index: object, fileIndex, kind: "empty", length: 0, units: [] });
      continue;
    }
    if (file.length > limits.maxObjectBytes) {
      throw new StorageError("IO", `file ${file.path.join("/") || layout.name} is ${file.length} bytes, over the ${limits.maxObjectBytes}-byte limit of one S3 object`, {
        context: { op: "s3.plan", infoHash: layout.infoHash, fileIndex, length: file.length },
        retryable: false,
      });
    }
    const cuts = file.length < options.smallObjectBytes ? [file.offset, file.offset + file.length] : partCuts(file.offset, file.length, L, options.partBytes, limits);
    // Sized exactly: an array grown by push keeps room for 17 numbers, and most files have one unit.
    const own = Array.from({ length: cuts.length - 1 }, (_, p) => units.length + p);
    for (let p = 0; p + 1 < cuts.length; p++) {
      const start = cuts[p]!;
      units.push({ index: units.length, object, partNumber: p + 1, start, length: cuts[p + 1]! - start, fileOffset: start - file.offset });
    }
    objects.push({ index: object, fileIndex, kind: own.length === 1 ? "single" : "multipart", length: file.length, units: own });
  }
  return { pieceLength: L, pieceCount: Math.ceil(layout.totalLength / L), objects, units };
}

/**
 * The smallest part size that keeps a file of `length` bytes within `maxParts`: with every part
 * but the last at least `target` long, `(parts - 1) * target <= length - 1`, so a target above
 * `(length - 1) / maxParts` allows at most `maxParts` parts.
 */
export function partTarget(length: number, partBytes: number, limits: S3Limits): number {
  return Math.max(limits.minPartBytes, partBytes, Math.floor((length - 1) / limits.maxParts) + 1);
}

/**
 * Cut points (torrent offsets) of a multipart file, its start and end included. Each cut is the
 * first piece boundary at least `target` bytes after the previous one, so parts hold whole
 * pieces and are less than a piece over the target; only a piece longer than S3's largest part
 * allowance would force a cut inside a piece.
 */
function partCuts(fileStart: number, length: number, pieceLength: number, partBytes: number, limits: S3Limits): number[] {
  const target = partTarget(length, partBytes, limits);
  const end = fileStart + length;
  const cuts = [fileStart];
  let pos = fileStart;
  while (pos < end) {
    const boundary = Math.ceil((pos + target) / pieceLength) * pieceLength;
    const cut = Math.min(boundary, pos + limits.maxPartBytes);
    pos = cut >= end ? end : cut;
    cuts.push(pos);
  }
  return cuts;
}

/** Indices of the units holding bytes of `piece`, in stream order (several when it straddles units). */
export function unitsOfPiece(plan: WritePlan, piece: number, totalLength: number): number[] {
  const start = piece * plan.pieceLength;
  const end = Math.min(start + plan.pieceLength, totalLength);
  return unitsOfRange(plan, start, end);
}

/** Indices of the units that hold any byte of the torrent range [start, end). */
export function unitsOfRange(plan: WritePlan, start: number, end: number): number[] {
  const { units } = plan;
  // Binary search for the first unit that ends after `start`.
  let lo = 0;
  let hi = units.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const u = units[mid]!;
    if (u.start + u.length <= start) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  for (let i = lo; i < units.length && units[i]!.start < end; i++) out.push(i);
  return out;
}

/** The pieces a unit holds bytes of: `first` to `last`, both included. */
export function piecesOfUnit(plan: WritePlan, unit: WriteUnit): { readonly first: number; readonly last: number } {
  return { first: Math.floor(unit.start / plan.pieceLength), last: Math.floor((unit.start + unit.length - 1) / plan.pieceLength) };
}

function checkOptions(options: PlanOptions, limits: S3Limits): void {
  const bad = (what: string): never => {
    throw new StorageError("IO", `write plan: ${what}`, { context: { op: "s3.plan" }, retryable: false });
  };
  if (!(limits.minPartBytes >= 1 && limits.maxParts >= 1 && limits.maxPartBytes >= limits.minPartBytes)) bad("inconsistent S3 limits");
  // Every object up to the limit must fit in maxParts parts of at most maxPartBytes.
  if (limits.maxObjectBytes > limits.maxParts * limits.maxPartBytes) bad("maxObjectBytes exceeds maxParts * maxPartBytes");
  if (!(options.partBytes >= limits.minPartBytes && options.partBytes <= limits.maxPartBytes)) bad(`part size ${options.partBytes} outside [${limits.minPartBytes}, ${limits.maxPartBytes}]`);
  if (!(options.smallObjectBytes >= limits.minPartBytes && options.smallObjectBytes <= limits.maxPartBytes)) {
    bad(`small-object threshold ${options.smallObjectBytes} outside [${limits.minPartBytes}, ${limits.maxPartBytes}]`);
  }
}

/** The planner relies on files being laid end to end in stream order, as metainfo builds them. */
function checkLayout(layout: TorrentLayout): void {
  let offset = 0;
  for (const f of layout.files) {
    if (f.offset !== offset || !Number.isSafeInteger(f.length) || f.length < 0) {
      throw new StorageError("IO", `layout of ${layout.infoHash}: file ${f.path.join("/")} at offset ${f.offset} does not follow the previous file (expected ${offset})`, {
        context: { op: "s3.plan", infoHash: layout.infoHash },
        retryable: false,
      });
    }
    offset += f.length;
  }
  if (offset !== layout.totalLength || !(layout.pieceLength > 0)) {
    throw new StorageError("IO", `layout of ${layout.infoHash}: files sum to ${offset} bytes, total is ${layout.totalLength} (piece length ${layout.pieceLength})`, {
      context: { op: "s3.plan", infoHash: layout.infoHash },
      retryable: false,
    });
  }
}
