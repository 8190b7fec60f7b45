import { INFO_HASH_BYTES } from "./announce-params.js";
import { appendQuery, httpSchemeOf } from "./bep3-announce-url.js";
import { percentEncodeBytes } from "./percent-encoding.js";
import { badResponse, decodeTrackerDict, kindOf, optionalCount } from "./response-fields.js";
import type { BDict } from "@shoal/bencode";
import { TrackerError } from "./tracker-error.js";
import type { ScrapeResult, ScrapeStats } from "./types.js";

/** One scrape is for our own torrent or a handful; more entries than this are never needed. */
export const SCRAPE_MAX_FILES = 1000;

export interface ScrapeResponseLimits {
  /** Responses longer than this are rejected with TOO_LARGE (TRACKER_RESPONSE_MAX_BYTES). */
  readonly maxBytes: number;
  /** At most this many torrents are read from `files`; a tracker answering more is ignored beyond it. */
  readonly maxFiles: number;
}

/**
 * The scrape URL of an HTTP announce URL (BEP 48): when the last path component starts with
 * "announce", that word is replaced by "scrape" and the rest (suffix, query) is kept. Any other
 * URL, and any non-HTTP URL, has no scrape URL and yields undefined. (UDP trackers scrape over
 * the announce address itself, BEP 15.)
 */
export function scrapeUrlOf(announceUrl: string): string | undefined {
  try {
    httpSchemeOf(announceUrl);
  } catch {
    return undefined;
  }
  const hash = announceUrl.indexOf("#");
  const url = hash >= 0 ? announceUrl.slice(0, hash) : announceUrl;
  const q = url.indexOf("?");
  const path = q >= 0 ? url.slice(0, q) : url;
  const query = q >= 0 ? url.slice(q) : "";
  const authorityEnd = path.indexOf("/", path.indexOf("://") + 3);
  if (authorityEnd < 0) return undefined;
  const slash = path.lastIndexOf("/");
  const last = path.slice(slash + 1);
  if (!last.startsWith("announce")) return undefined;
  return `${path.slice(0, slash + 1)}scrape${last.slice("announce".length)}${query}`;
}

/** Appends one `info_hash` parameter per torrent to a scrape URL. */
export function buildScrapeUrl(scrapeUrl: string, infoHashes: readonly Uint8Array[]): string {
  httpSchemeOf(scrapeUrl);
  const parts = infoHashes.map((hash, i) => {
    if (hash.length !== INFO_HASH_BYTES) {
      throw new TrackerError("INVALID_ARGUMENT", `info hash ${i} has ${hash.length} bytes (expected ${INFO_HASH_BYTES})`, {
        context: { index: i, length: hash.length },
      });
    }
    return `info_hash=${percentEncodeBytes(hash)}`;
  });
  return appendQuery(scrapeUrl, parts.join("&"));
}

/**
 * Parses a bencoded scrape answer (BEP 48): `files` maps each raw 20-byte info hash to its
 * counters. Keys come back as lowercase hex. Missing counters read as 0 (some trackers leave
 * out `downloaded`); wrong types and keys that are not 20 bytes are BAD_RESPONSE.
 */
export function parseScrapeResponse(bytes: Uint8Array, limits: ScrapeResponseLimits): ScrapeResult {
  const dict = decodeTrackerDict(bytes, limits.maxBytes, "scrape");
  const files = dict.get("files");
  const out = new Map<string, ScrapeStats>();
  if (files === undefined) return { files: out };
  if (!(files instanceof Map)) throw badResponse(`field "files" is a ${kindOf(files)}, expected a dictionary`, "files");
  for (const [key, value] of files) {
    if (out.size >= limits.maxFiles) break;
    if (key.length !== INFO_HASH_BYTES) {
      throw badResponse(`a key of field "files" has ${key.length} bytes (expected ${INFO_HASH_BYTES})`, "files");
    }
    const hex = latin1ToHex(key);
    if (!(value instanceof Map)) {
      throw badResponse(`field "files.${hex}" is a ${kindOf(value)}, expected a dictionary`, `files.${hex}`);
    }
    const stats = value as BDict;
    out.set(hex, {
      complete: optionalCount(stats, "complete", `files.${hex}.complete`) ?? 0,
      incomplete: optionalCount(stats, "incomplete", `files.${hex}.incomplete`) ?? 0,
      downloaded: optionalCount(stats, "downloaded", `files.${hex}.downloaded`) ?? 0,
    });
  }
  return { files: out };
}

/** Dictionary keys are latin1 strings of the raw key bytes, so each char code is one byte. */
function latin1ToHex(key: string): string {
  let hex = "";
  for (let i = 0; i < key.length; i++) hex += (key.charCodeAt(i) & 0xff).toString(16).padStart(2, "0");
  return hex;
}
