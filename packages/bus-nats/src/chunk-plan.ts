/**
 * The pure half of carrying a durable message's bytes in chunks: what the message holds in place
 * of a byte field, what each chunk says it is, and the reassembly that checks every chunk
 * against both before it takes a byte. No I/O here; `bytes-stream.ts` moves the chunks.
 */
import { CoordinationError } from "@shoal/coordination";

/** The key of a chunk reference in a message's JSON; payload objects may not use it themselves. */
export const CHUNKS_KEY = "$chunks";

/** The NATS header every chunk message carries: `<id> <index> <offset> <total length>`. */
export const CHUNK_HEADER = "Shoal-Chunk";

/** A byte field kept apart from its message, in chunks: what the message carries instead. */
export interface ChunkRef {
  /** The chunks' id, the last token of their subject: one per published message. */
  readonly id: string;
  /** Bytes of the whole field. */
  readonly length: number;
  /** Bytes of every chunk but the last, which holds the rest. */
  readonly chunkBytes: number;
  /** Stream sequence of each chunk, in order: the first holds bytes from 0. */
  readonly seqs: readonly number[];
}

/** What one chunk message says it is, from its header. */
export interface ChunkClaim {
  readonly id: string;
  readonly index: number;
  readonly offset: number;
  readonly total: number;
}

/** A chunk id: lowercase hex, so it is one subject token and never widens a subject. */
const ID = /^[0-9a-f]{8,64}$/;

/** Chunks of a field that holds `length` bytes, `chunkBytes` each but the last. */
export function chunkCount(length: number, chunkBytes: number): number {
  return Math.ceil(length / chunkBytes);
}

/** Where chunk `index` of a field lies. */
export function chunkRange(length: number, chunkBytes: number, index: number): { offset: number; length: number } {
  const offset = index * chunkBytes;
  return { offset, length: Math.min(chunkBytes, length - offset) };
}

export function chunkHeaderValue(c: ChunkClaim): string {
  return `${c.id} ${c.index} ${c.offset} ${c.total}`;
}

/** The header's claim, or undefined when it is missing or not four well-formed fields. */
export function parseChunkHeader(value: string | undefined): ChunkClaim | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(" ");
  if (parts.length !== 4 || !ID.test(parts[0]!)) return undefined;
  const [index, offset, total] = parts.slice(1).map((p) => (/^\d{1,15}$/.test(p) ? Number(p) : NaN));
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(offset) || !Number.isSafeInteger(total)) return undefined;
  return { id: parts[0]!, index: index!, offset: offset!, total: total! };
}

/**
 * The reference a decoded message holds in place of a byte field, or undefined when `value`
 * is not one. A value with the key but not the shape is refused with the reason: the message
 * is damaged or of another version, and its bytes cannot be found.
 */
export function readChunkRef(value: unknown): ChunkRef | { readonly malformed: string } | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, CHUNKS_KEY)) return undefined;
  const ref = (value as Record<string, unknown>)[CHUNKS_KEY] as Partial<Record<keyof ChunkRef, unknown>> | null;
  const bad = (why: string) => ({ malformed: `chunk reference ${JSON.stringify(value).slice(0, 200)}: ${why}` });
  if (Object.keys(value).length !== 1 || ref === null || typeof ref !== "object") return bad("not an object of its own");
  const { id, length, chunkBytes, seqs } = ref;
  if (typeof id !== "string" || !ID.test(id)) return bad("the id is not hex");
  if (!isCount(length) || length < 1) return bad("the length is not a positive whole number");
  if (!isCount(chunkBytes) || chunkBytes < 1) return bad("the chunk size is not a positive whole number");
  if (!Array.isArray(seqs) || seqs.length !== chunkCount(length, chunkBytes) || !seqs.every((s) => isCount(s) && s >= 1)) {
    return bad(`it needs ${chunkCount(length, chunkBytes)} stream sequences`);
  }
  return { id, length, chunkBytes, seqs: seqs as number[] };
}

/** The JSON a message carries in place of a byte field. */
export function chunkRefValue(ref: ChunkRef): { readonly [CHUNKS_KEY]: ChunkRef } {
  return { [CHUNKS_KEY]: ref };
}

export type ChunkVerdict = { readonly ok: true; readonly duplicate: boolean } | { readonly ok: false; readonly why: string };

/**
 * One field being put back together from its chunks, in any order. A chunk is taken only when
 * its header names this field's id, the index it was fetched for, that index's offset and the
 * field's length, and when its bytes are exactly that chunk's size: chunks of another message
 * (another attempt of the same piece, a stream re-created under the same sequences), of
 * another cut, or truncated are refused without touching the buffer. A chunk that comes twice
 * is taken once; a second copy with other bytes is refused.
 */
export class ChunkAssembly {
  private readonly buf: Buffer;
  private readonly have: boolean[];
  private missing: number;

  constructor(readonly ref: ChunkRef) {
    // Every byte is written by a chunk before `bytes()` hands the buffer out.
    this.buf = Buffer.allocUnsafe(ref.length);
    this.have = new Array<boolean>(ref.seqs.length).fill(false);
    this.missing = ref.seqs.length;
  }

  get complete(): boolean {
    return this.missing === 0;
  }

  /** Takes chunk `index` (the one fetched at `ref.seqs[index]`) if it is what it must be. */
  add(index: number, headerValue: string | undefined, data: Uint8Array): ChunkVerdict {
    const { ref } = this;
    if (!Number.isInteger(index) || index < 0 || index >= ref.seqs.length) return { ok: false, why: `chunk ${index} is not one of ${ref.seqs.length}` };
    const claim = parseChunkHeader(headerValue);
    if (!claim) return { ok: false, why: `chunk ${index} has no valid ${CHUNK_HEADER} header` };
    if (claim.id !== ref.id) return { ok: false, why: `chunk ${index} belongs to ${claim.id}, not ${ref.id}` };
    const want = chunkRange(ref.length, ref.chunkBytes, index);
    if (claim.index !== index || claim.offset !== want.offset || claim.total !== ref.length) {
      return { ok: false, why: `chunk ${index} says it is chunk ${claim.index} at ${claim.offset} of ${claim.total} bytes, not at ${want.offset} of ${ref.length}` };
    }
    if (data.byteLength !== want.length) return { ok: false, why: `chunk ${index} holds ${data.byteLength} bytes, not ${want.length}` };
    if (this.have[index]) {
      const same = this.buf.subarray(want.offset, want.offset + want.length).equals(data);
      return same ? { ok: true, duplicate: true } : { ok: false, why: `chunk ${index} came twice with different bytes` };
    }
    this.buf.set(data, want.offset);
    this.have[index] = true;
    this.missing--;
    return { ok: true, duplicate: false };
  }

  /** The whole field; only once every chunk was taken. */
  bytes(): Buffer {
    if (!this.complete) {
      throw new CoordinationError("INVARIANT_BROKEN", `field ${this.ref.id} still misses ${this.missing} of ${this.ref.seqs.length} chunks`);
    }
    return this.buf;
  }
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}
