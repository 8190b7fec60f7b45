import { decode, DecodeError } from "@shoal/bencode";
import type { BDict, BValue } from "@shoal/bencode";
import { TrackerError } from "./tracker-error.js";


/**
 * DESIGN.md caps tracker responses at 1 MiB: a full compact list of 80 peers is under 500
 * bytes, so anything near the cap is a broken or hostile tracker.
 */
export const TRACKER_RESPONSE_MAX_BYTES = 1024 * 1024;
/**
 * A tracker response nests three levels at most (dict, peer list, peer dict); the bound leaves
 * room for extension keys while keeping hostile nesting cheap.
 */
const TRACKER_BENCODE_MAX_DEPTH = 16;
/** Texts from a tracker (failure reason, warning) are cut here so they cannot flood our logs. */
export const TRACKER_TEXT_MAX_CHARS = 1024;

const utf8 = new TextDecoder("utf-8", { fatal: false });

export function badResponse(message: string, field: string, cause?: unknown): TrackerError {
  return new TrackerError("BAD_RESPONSE", message, { context: { field }, cause });
}

/** Decodes tracker bytes as text: invalid UTF-8 is replaced, control characters become spaces. */
export function trackerText(bytes: Uint8Array): string {
  // Control characters are replaced so a tracker cannot forge log lines or terminal escapes.
  const text = utf8.decode(bytes).replace(/[\u0000-\u001f\u007f]/g, " ");
  return text.length > TRACKER_TEXT_MAX_CHARS ? text.slice(0, TRACKER_TEXT_MAX_CHARS) + "…" : text;
}

/**
 * Decodes a tracker response into its top-level dictionary, enforcing the byte limit, and
 * turns a `failure reason` into TrackerError FAILURE. Keys out of order are accepted, and bytes
 * after the dictionary (some trackers append a newline) are ignored: trackers are sloppier than
 * torrent authors, and neither carries meaning here.
 */
export function decodeTrackerDict(bytes: Uint8Array, maxBytes: number, what: string): BDict {
  if (bytes.length > maxBytes) {
    throw new TrackerError("TOO_LARGE", `${what} response of ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`, {
      context: { bytes: bytes.length, maxBytes },
    });
  }
  let value: BValue;
  try {
    value = decode(bytes, {
      keyOrder: "lenient",
      allowTrailing: true,
      limits: { maxDepth: TRACKER_BENCODE_MAX_DEPTH, maxStringBytes: maxBytes },
    });
  } catch (err) {
    if (err instanceof DecodeError) {
      throw badResponse(`${what} response is not valid bencode: ${err.message}`, "(root)", err);
    }
    throw err;
  }
  if (!(value instanceof Map)) {
    throw badResponse(`${what} response is a ${kindOf(value)}, expected a dictionary`, "(root)");
  }
  const failure = value.get("failure reason");
  if (failure !== undefined) {
    if (!(failure instanceof Uint8Array)) {
      throw badResponse(`${what} response field "failure reason" is a ${kindOf(failure)}, expected a string`, "failure reason");
    }
    const reason = trackerText(failure);
    throw new TrackerError("FAILURE", `tracker refused the ${what}: ${reason}`, { context: { reason } });
  }
  return value;
}

export function kindOf(value: BValue): string {
  if (value instanceof Uint8Array) return "string";
  if (value instanceof Map) return "dictionary";
  if (Array.isArray(value)) return "list";
  return "integer";
}

/** Reads an optional integer field; a wrong type is BAD_RESPONSE naming the field. */
export function optionalInteger(dict: BDict, key: string, where = key): number | bigint | undefined {
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== "number" && typeof value !== "bigint") {
    throw badResponse(`field "${where}" is a ${kindOf(value)}, expected an integer`, where);
  }
  return value;
}

/** Reads an optional non-negative count, capped at Number.MAX_SAFE_INTEGER (it is only informative). */
export function optionalCount(dict: BDict, key: string, where = key): number | undefined {
  const value = optionalInteger(dict, key, where);
  if (value === undefined) return undefined;
  if (value < 0) throw badResponse(`field "${where}" is ${value}, expected a count >= 0`, where);
  return value > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** Reads an optional byte string field; a wrong type is BAD_RESPONSE naming the field. */
export function optionalBytes(dict: BDict, key: string, where = key): Uint8Array | undefined {
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) {
    throw badResponse(`field "${where}" is a ${kindOf(value)}, expected a string`, where);
  }
  return value;
}
