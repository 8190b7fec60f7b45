import { createHash } from "node:crypto";
import { METADATA_PIECE_BYTES } from "./bep9-metadata.js";
import { WireError } from "./wire-error.js";

/** What adding one piece did. */
export type AssembleResult =
  /** Kept; more pieces are missing. */
  | { readonly status: "more" }
  /** The last piece: the assembled info dict hashes to the info hash. */
  | { readonly status: "complete"; readonly metadata: Uint8Array }
  /**
   * Every piece arrived but the SHA-1 does not match: everything is dropped and the pieces are
   * wanted again. `sources` are the peers that sent any of them (one of them lied).
   */
  | { readonly status: "mismatch"; readonly sources: readonly string[] }
  /** A piece already held, or one this metadata does not have: ignored. */
  | { readonly status: "ignored" };

/**
 * Collects the pieces of one torrent's info dict from any number of peers (BEP 9) and checks the
 * whole against the info hash before anyone may trust it. Pure: no sockets or timers; the
 * caller decides which peer to ask for `nextWanted()` and when a request timed out.
 */
export class MetadataAssembler {
  readonly pieceCount: number;
  private readonly buffer: Uint8Array;
  private readonly have: boolean[];
  private readonly sources: (string | undefined)[];
  private received = 0;

  /** `size` is the `metadata_size` a peer announced, already checked against the caller's limit. */
  constructor(
    private readonly infoHash: Uint8Array,
    readonly size: number,
  ) {
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new WireError("INVALID_ARGUMENT", `metadata size ${size} is not a positive integer`, { context: { size } });
    }
    if (infoHash.length !== 20) throw new WireError("INVALID_ARGUMENT", `info hash has ${infoHash.length} bytes, expected 20`);
    this.pieceCount = Math.ceil(size / METADATA_PIECE_BYTES);
    this.buffer = new Uint8Array(size);
    this.have = new Array<boolean>(this.pieceCount).fill(false);
    this.sources = new Array<string | undefined>(this.pieceCount).fill(undefined);
  }

  /** The lowest piece not yet held and not in `inFlight`; undefined when none is left to ask for. */
  nextWanted(inFlight: ReadonlySet<number> = new Set()): number | undefined {
    for (let i = 0; i < this.pieceCount; i++) if (!this.have[i] && !inFlight.has(i)) return i;
    return undefined;
  }

  /** Pieces held so far. */
  get piecesHeld(): number {
    return this.received;
  }

  /** Adds a piece (already length-checked by `decodeMetadataMessage` against this size) from `source`. */
  add(piece: number, data: Uint8Array, source: string): AssembleResult {
    if (piece < 0 || piece >= this.pieceCount || this.have[piece]) return { status: "ignored" };
    const expected = Math.min(METADATA_PIECE_BYTES, this.size - piece * METADATA_PIECE_BYTES);
    if (data.length !== expected) return { status: "ignored" };
    this.buffer.set(data, piece * METADATA_PIECE_BYTES);
    this.have[piece] = true;
    this.sources[piece] = source;
    this.received++;
    if (this.received < this.pieceCount) return { status: "more" };
    const digest = createHash("sha1").update(this.buffer).digest();
    if (digest.equals(this.infoHash)) return { status: "complete", metadata: this.buffer };
    const sources = [...new Set(this.sources.filter((s): s is string => s !== undefined))];
    this.have.fill(false);
    this.sources.fill(undefined);
    this.received = 0;
    return { status: "mismatch", sources };
  }
}
