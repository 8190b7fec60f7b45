import { TrackerError } from "./tracker-error.js";
import type { AnnounceParams, ByteCount } from "./types.js";

/** Info hashes (v1) and peer ids are exactly 20 bytes (BEP 3). */
export const INFO_HASH_BYTES = 20;
export const PEER_ID_BYTES = 20;
/** BEP 15 carries byte counters as unsigned 64-bit integers; HTTP has no limit but we keep one. */
const BYTE_COUNT_MAX = (1n << 64n) - 1n;
/** numwant is a signed 32-bit field in BEP 15; more than this many peers is never useful. */
const NUMWANT_MAX = 0x7fffffff;

function invalid(message: string, context: Record<string, string | number>): TrackerError {
  return new TrackerError("INVALID_ARGUMENT", message, { context });
}

/** Returns a byte counter as a bigint after checking it is a non-negative integer. */
export function byteCountOf(name: string, value: ByteCount): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw invalid(`${name} ${value} is not a safe integer`, { field: name, value: String(value) });
  }
  const big = BigInt(value);
  if (big < 0n || big > BYTE_COUNT_MAX) {
    throw invalid(`${name} ${big} is outside 0..2^64-1`, { field: name, value: big.toString() });
  }
  return big;
}

/** Checks the parts of AnnounceParams both encoders rely on; throws INVALID_ARGUMENT. */
export function checkAnnounceParams(params: AnnounceParams): void {
  if (params.infoHash.length !== INFO_HASH_BYTES) {
    throw invalid(`info hash has ${params.infoHash.length} bytes (expected ${INFO_HASH_BYTES})`, {
      field: "infoHash",
      length: params.infoHash.length,
    });
  }
  if (params.peerId.length !== PEER_ID_BYTES) {
    throw invalid(`peer id has ${params.peerId.length} bytes (expected ${PEER_ID_BYTES})`, {
      field: "peerId",
      length: params.peerId.length,
    });
  }
  if (!Number.isInteger(params.port) || params.port < 0 || params.port > 0xffff) {
    throw invalid(`port ${params.port} is outside 0..65535`, { field: "port", value: params.port });
  }
  if (params.numwant !== undefined && (!Number.isInteger(params.numwant) || params.numwant < 0 || params.numwant > NUMWANT_MAX)) {
    throw invalid(`numwant ${params.numwant} is not an integer in 0..${NUMWANT_MAX}`, {
      field: "numwant",
      value: params.numwant,
    });
  }
  if (params.key !== undefined && !/^[0-9a-fA-F]{8}$/.test(params.key)) {
    throw invalid(`key "${params.key}" is not 8 hex characters`, { field: "key", value: params.key });
  }
  byteCountOf("uploaded", params.uploaded);
  byteCountOf("downloaded", params.downloaded);
  byteCountOf("left", params.left);
}
