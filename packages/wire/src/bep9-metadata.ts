import { decodePrefix, encode, type BValue } from "@shoal/bencode";
import { WireError } from "./wire-error.js";

/** Metadata is exchanged in pieces of 16 KiB; only the last may be shorter (BEP 9). */
export const METADATA_PIECE_BYTES = 16 * 1024;

/** The extension name peers map to a message id in their BEP 10 handshake (`m`). */
export const UT_METADATA = "ut_metadata";

/**
 * The extended message id shoal asks peers to send ut_metadata messages with (its handshake's
 * `m` says so). Any id from 1 to 255 would do; one value for every shoal process keeps the
 * fetching and the serving side in step.
 */
export const SHOAL_UT_METADATA_ID = 3;

/**
 * The default ceiling on an announced `metadata_size`: torrents with hundreds of thousands of
 * files take a few MiB of info dict; 30 MiB is the .torrent limit the metainfo reader applies.
 */
export const DEFAULT_MAX_METADATA_BYTES = 30 * 1024 * 1024;

/** One ut_metadata message (the payload after the extended message id). */
export type MetadataMessage =
  | { readonly type: "request"; readonly piece: number }
  | { readonly type: "data"; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: "reject"; readonly piece: number };

const MSG_TYPE = { request: 0, data: 1, reject: 2 } as const;

/** Bencode limits for a ut_metadata dict: three or four integer keys, nothing nested. */
const DICT_LIMITS = { maxDepth: 2, maxTokens: 64 } as const;

/** The payload of a ut_metadata message: its bencoded dict, then (for `data`) the piece's bytes. */
export function encodeMetadataMessage(m: MetadataMessage): Buffer {
  const dict: Record<string, number> = { msg_type: MSG_TYPE[m.type], piece: m.piece };
  if (m.type === "data") dict["total_size"] = m.totalSize;
  const head = Buffer.from(encode(dict));
  return m.type === "data" ? Buffer.concat([head, m.data]) : head;
}

function bad(message: string, context: Record<string, number> = {}): never {
  throw new WireError("BAD_EXTENSION_MESSAGE", `ut_metadata: ${message}`, { context });
}

function intField(dict: Map<string, BValue>, key: string): number | undefined {
  const v = dict.get(key);
  return typeof v === "number" && Number.isSafeInteger(v) ? v : undefined;
}

/**
 * Reads a ut_metadata payload. `maxMetadataBytes` bounds what a `data` message may announce as
 * `total_size`; a `data` piece must be 16 KiB, or the remainder for the last piece. Anything
 * else (not a dict, unknown `msg_type`, a piece index past the metadata, a wrong-sized piece) is
 * a WireError BAD_EXTENSION_MESSAGE: the peer is broken or hostile.
 */
export function decodeMetadataMessage(payload: Uint8Array, maxMetadataBytes: number = DEFAULT_MAX_METADATA_BYTES): MetadataMessage {
  let value: BValue;
  let end: number;
  try {
    ({ value, end } = decodePrefix(payload, { keyOrder: "lenient", limits: DICT_LIMITS }));
  } catch (err) {
    return bad(`not a bencoded dict (${(err as Error).message})`);
  }
  if (!(value instanceof Map)) return bad("not a bencoded dict");
  const type = intField(value, "msg_type");
  const piece = intField(value, "piece");
  if (piece === undefined || piece < 0) return bad(`piece ${String(value.get("piece"))} is not an index`);
  const maxPieces = Math.ceil(maxMetadataBytes / METADATA_PIECE_BYTES);
  if (piece >= maxPieces) return bad(`piece ${piece} is past the largest metadata accepted`, { piece });
  if (type === MSG_TYPE.request || type === MSG_TYPE.reject) {
    return { type: type === MSG_TYPE.request ? "request" : "reject", piece };
  }
  if (type !== MSG_TYPE.data) return bad(`msg_type ${String(value.get("msg_type"))} is not 0, 1 or 2`);
  const totalSize = intField(value, "total_size");
  if (totalSize === undefined || totalSize <= 0) return bad(`total_size ${String(value.get("total_size"))} is not a positive size`);
  if (totalSize > maxMetadataBytes) return bad(`total_size ${totalSize} is over the limit of ${maxMetadataBytes} bytes`, { totalSize });
  const data = payload.subarray(end);
  const expected = Math.min(METADATA_PIECE_BYTES, totalSize - piece * METADATA_PIECE_BYTES);
  if (expected <= 0) return bad(`piece ${piece} is past total_size ${totalSize}`, { piece, totalSize });
  if (data.length !== expected) return bad(`piece ${piece} has ${data.length} bytes, expected ${expected}`, { piece, bytes: data.length });
  return { type: "data", piece, totalSize, data };
}
