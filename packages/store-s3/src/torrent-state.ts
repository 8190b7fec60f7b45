import type { LayoutFile, TorrentLayout } from "@shoal/coordination";
import { PieceMarks } from "./piece-marks.js";
import { piecesOfUnit, unitsOfPiece, type PlannedObject, type WritePlan, type WriteUnit } from "./write-plan.js";

/**
 * Where a unit stands:
 * - `open`: waiting for pieces; its buffer (allocated on the first piece) fills up. A full open
 *   unit is one whose upload failed and waits for the next write to try again.
 * - `uploading`: full, its upload in flight.
 * - `uploaded`: its bytes are in the bucket (part recorded in the ledger, or object PUT).
 * - `existing`: its object was finished before this store knew the unit's bytes (found in the
 *   bucket at open, or finalized with zeros where pieces never came). A piece written into it
 *   is compared with the object instead of uploaded, since S3 cannot rewrite part of an object.
 */
export type UnitStatus = "open" | "uploading" | "uploaded" | "existing";

export interface UnitState {
  readonly unit: WriteUnit;
  /** The pieces holding bytes of this unit, `first` to `last`. */
  readonly first: number;
  readonly last: number;
  status: UnitStatus;
  buf: Buffer | undefined;
  /**
   * The unit's bytes piece by piece (piece -> its bytes in the unit) while it has no buffer:
   * how a unit is filled once the unfilled bytes of the store's unit buffers pass their budget.
   * `gather` makes the buffer when the upload starts.
   */
  segments: Map<number, Buffer> | undefined;
  /** Bytes copied into `buf` so far (all of it once full or hole-filled). */
  filled: number;
  /** Pieces whose bytes are in `buf` (or, once uploaded with holes, in the object). */
  readonly received: PieceMarks;
  /** For `existing` units: pieces found equal to the object's bytes. */
  readonly checked: PieceMarks;
  /** Uploaded with zeros where some piece never arrived (finalize of an incomplete torrent). */
  holes: boolean;
  etag: string | undefined;
}

export interface ObjectState {
  readonly planned: PlannedObject;
  readonly file: LayoutFile;
  readonly key: string;
  /** The multipart upload in progress, once created (or taken over from the ledger). */
  uploadId: string | undefined;
  /** The CreateMultipartUpload in flight, shared by the parts that wait for it. */
  creating: Promise<string> | undefined;
  /** Finished in the bucket: by this store, by a run the ledger remembers, or found at open. */
  complete: boolean;
}

/** What one store knows about one open torrent: the plan and the state of every unit and object. */
export class TorrentState {
  readonly units: UnitState[];
  /** Pieces accepted by writePiece and not yet reported durable. */
  readonly held = new Set<number>();
  /**
   * Units uploaded since the last report. A piece becomes durable when the last of its units is
   * uploaded, so the pieces of these units are the only ones a report has to look at.
   */
  readonly fresh = new Set<UnitState>();
  /**
   * The last listing of the torrent's root (key -> size) and when it was made: reads of objects
   * it does not show are answered without a GET while it is fresh.
   */
  listing: { at: number; sizes: ReadonlyMap<string, number> } | undefined;
  /** A listing in flight, shared by the reads that wait for it. */
  relisting: Promise<void> | undefined;
  /** Uploads in flight; abort, finalize and close wait for them. */
  readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly layout: TorrentLayout,
    readonly plan: WritePlan,
    readonly objects: ObjectState[],
  ) {
    this.units = plan.units.map((unit) => {
      const { first, last } = piecesOfUnit(plan, unit);
      return { unit, first, last, status: "open", buf: undefined, segments: undefined, filled: 0, received: new PieceMarks(first, last), checked: new PieceMarks(first, last), holes: false, etag: undefined };
    });
  }

  get infoHash(): string {
    return this.layout.infoHash;
  }

  /** Bytes in piece `piece` (the last piece is short). */
  pieceSize(piece: number): number {
    return Math.min(this.layout.pieceLength, this.layout.totalLength - piece * this.layout.pieceLength);
  }

  unitsOf(piece: number): UnitState[] {
    return unitsOfPiece(this.plan, piece, this.layout.totalLength).map((i) => this.units[i]!);
  }

  /** Every piece of the unit has arrived. */
  isFull(u: UnitState): boolean {
    return u.received.size === u.last - u.first + 1;
  }

  /**
   * Copies the bytes of `piece` that fall in `u` into its buffer (allocated on first use), or,
   * when `piecewise` and the unit has no buffer yet, into a segment of their own size (a unit
   * started piece by piece stays so until `gather`). Returns the bytes newly allocated, for the
   * buffer counter.
   */
  copyInto(u: UnitState, piece: number, data: Uint8Array, alloc: (size: number) => Buffer = (n) => Buffer.allocUnsafeSlow(n), piecewise = false): number {
    if (u.received.has(piece)) return 0;
    const { from, to } = overlap(u.unit, piece * this.layout.pieceLength, this.pieceSize(piece));
    const pieceStart = piece * this.layout.pieceLength;
    const bytes = data.subarray(from - pieceStart, to - pieceStart);
    u.received.add(piece);
    if (!u.buf && (piecewise || u.segments)) {
      // A copy: the producer may reuse the piece's buffer once the write returns.
      const segment = Buffer.allocUnsafe(bytes.length);
      segment.set(bytes);
      (u.segments ??= new Map()).set(piece, segment);
      return segment.length;
    }
    let allocated = 0;
    if (!u.buf) {
      // Every byte is overwritten by a piece before upload, or zeroed by finalize.
      u.buf = alloc(u.unit.length);
      allocated = u.unit.length;
    }
    u.buf.set(bytes, from - u.unit.start);
    u.filled += bytes.length;
    return allocated;
  }

  /**
   * Gives a unit filled piece by piece its one buffer (an upload body is one buffer), the
   * segments copied in and dropped. Returns the change in bytes held.
   */
  gather(u: UnitState, alloc: (size: number) => Buffer = (n) => Buffer.allocUnsafeSlow(n)): number {
    if (u.buf || !u.segments) return 0;
    const buf = alloc(u.unit.length);
    let dropped = 0;
    for (const [piece, segment] of u.segments) {
      buf.set(segment, Math.max(u.unit.start, piece * this.layout.pieceLength) - u.unit.start);
      dropped += segment.length;
    }
    u.segments = undefined;
    u.buf = buf;
    u.filled = dropped;
    return u.unit.length - dropped;
  }

  /**
   * Copies the unit's bytes of [from, to) (torrent offsets, inside the unit, every piece of it
   * received) to `target` at `at`.
   */
  copyOut(u: UnitState, from: number, to: number, target: Buffer, at: number): void {
    if (u.buf) {
      u.buf.copy(target, at, from - u.unit.start, to - u.unit.start);
      return;
    }
    const L = this.layout.pieceLength;
    for (let p = Math.floor(from / L); p <= Math.floor((to - 1) / L); p++) {
      const segment = u.segments!.get(p)!;
      const segStart = Math.max(u.unit.start, p * L);
      const a = Math.max(from, segStart);
      const b = Math.min(to, segStart + segment.length);
      segment.copy(target, at + (a - from), a - segStart, b - segStart);
    }
  }

  /** Zeroes the bytes of every piece that never arrived, so an incomplete unit can be uploaded at finalize. */
  fillHoles(u: UnitState, alloc?: (size: number) => Buffer): number {
    let allocated = this.gather(u, alloc);
    if (!u.buf) {
      u.buf = Buffer.alloc(u.unit.length);
      allocated = u.unit.length;
    } else {
      for (let p = u.first; p <= u.last; p++) {
        if (u.received.has(p)) continue;
        const { from, to } = overlap(u.unit, p * this.layout.pieceLength, this.pieceSize(p));
        u.buf.fill(0, from - u.unit.start, to - u.unit.start);
      }
    }
    u.filled = u.unit.length;
    u.holes = !this.isFull(u);
    return allocated;
  }

  /** Whether the piece's bytes in `u` are durable in the bucket. */
  unitHolds(u: UnitState, piece: number): boolean {
    if (u.status === "uploaded") return !u.holes || u.received.has(piece);
    return u.status === "existing" && u.checked.has(piece);
  }

  /** Every unit of the piece holds its bytes durably (a piece with no units, all padding or skipped, is trivially durable). */
  isDurable(piece: number): boolean {
    return this.unitsOf(piece).every((u) => this.unitHolds(u, piece));
  }

  /** Held pieces among `candidates` that are now durable; they leave the held set. */
  takeDurable(candidates: Iterable<number>): number[] {
    const out: number[] = [];
    for (const p of candidates) {
      if (this.held.has(p) && this.isDurable(p)) {
        this.held.delete(p);
        out.push(p);
      }
    }
    return out.sort((a, b) => a - b);
  }

  /** Whether any byte of [start, end) belongs to a skipped file (files are in stream order). */
  skippedIn(start: number, end: number): boolean {
    const files = this.layout.files;
    // Binary search for the first file that ends after `start`.
    let lo = 0;
    let hi = files.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const f = files[mid]!;
      if (f.offset + f.length <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < files.length && files[i]!.offset < end; i++) if (files[i]!.skipped && files[i]!.length > 0) return true;
    return false;
  }

  /** Byte range of `u` that overlaps [start, start + length), in torrent offsets. */
  overlap(u: UnitState, start: number, length: number): { from: number; to: number } {
    return overlap(u.unit, start, length);
  }
}

function overlap(unit: WriteUnit, start: number, length: number): { from: number; to: number } {
  return { from: Math.max(unit.start, start), to: Math.min(unit.start + unit.length, start + length) };
}

/** Bytes held for `u` now: its buffer, or its segments. */
export function heldBytes(u: UnitState): number {
  if (u.buf) return u.buf.length;
  let n = 0;
  for (const segment of u.segments?.values() ?? []) n += segment.length;
  return n;
}

/**
 * Bytes of `u`'s buffer that no piece has filled yet: memory held for bytes not received. The
 * store bounds the sum of these (`fillBufferMiB`) by starting units piece by piece past it.
 */
export function unfilledBytes(u: UnitState): number {
  return u.buf ? u.unit.length - u.filled : 0;
}
