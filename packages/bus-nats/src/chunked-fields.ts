import { CoordinationError } from "@shoal/coordination";
import { CHUNKS_KEY, chunkRefValue, readChunkRef, type ChunkRef } from "./chunk-plan.js";

/**
 * Bytes a message needs besides its JSON and its byte fields: the separator and the digits of
 * each `$bin` reference beyond the placeholder's.
 */
const REFERENCE_SLACK_BYTES = 64;

/** A payload's top-level byte fields. Payloads are flat; only those fields are ever chunked. */
function byteFields(payload: object): [string, Uint8Array][] {
  return Object.entries(payload).filter((e): e is [string, Uint8Array] => e[1] instanceof Uint8Array);
}

/**
 * Whether a durable payload would exceed `maxPayloadBytes` in one message because of its byte
 * fields, measured without encoding the bytes: the JSON of the rest, plus the bytes.
 */
export function needsChunks(payload: object, maxPayloadBytes: number | undefined): boolean {
  if (maxPayloadBytes === undefined) return false;
  const fields = byteFields(payload);
  if (fields.length === 0) return false;
  const bytes = fields.reduce((n, [, b]) => n + b.byteLength, 0);
  const rest = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, v instanceof Uint8Array ? { $bin: [0, 0] } : v]));
  return Buffer.byteLength(JSON.stringify(rest)) + REFERENCE_SLACK_BYTES * fields.length + bytes > maxPayloadBytes;
}

/**
 * The payload with every top-level byte field stored apart by `put` and replaced by its chunk
 * reference, and the references (to drop the chunks when the message cannot be sent).
 */
export async function storeByteFields(
  payload: object,
  put: (bytes: Uint8Array) => Promise<ChunkRef>,
): Promise<{ readonly header: Record<string, unknown>; readonly refs: ChunkRef[] }> {
  const header: Record<string, unknown> = { ...payload };
  const refs: ChunkRef[] = [];
  for (const [key, value] of Object.entries(payload)) {
    if (value !== null && typeof value === "object" && !(value instanceof Uint8Array) && Object.hasOwn(value, CHUNKS_KEY)) {
      throw new CoordinationError("INVARIANT_BROKEN", `payload field "${key}" holds the key "${CHUNKS_KEY}", which the bus reserves`);
    }
  }
  for (const [key, bytes] of byteFields(payload)) {
    const ref = await put(bytes);
    refs.push(ref);
    header[key] = chunkRefValue(ref);
  }
  return { header, refs };
}

/** A decoded message's chunk references by field, and the fields whose reference is damaged. */
export function chunkRefsOf(payload: unknown): { readonly refs: [string, ChunkRef][]; readonly malformed: [string, string][] } {
  const refs: [string, ChunkRef][] = [];
  const malformed: [string, string][] = [];
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return { refs, malformed };
  for (const [key, value] of Object.entries(payload)) {
    const r = readChunkRef(value);
    if (r === undefined) continue;
    if ("malformed" in r) malformed.push([key, r.malformed]);
    else refs.push([key, r]);
  }
  return { refs, malformed };
}

/** Bytes the chunked fields of a message hold, together. */
export function chunkedBytes(refs: readonly [string, ChunkRef][]): number {
  return refs.reduce((n, [, r]) => n + r.length, 0);
}
