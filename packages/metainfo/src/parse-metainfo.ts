import { decodeWithSpans, DecodeError } from "@shoal/bencode";
import type { BDict, BValue, Span } from "@shoal/bencode";
import { parseAnnounceList } from "./bep12-announce-list.js";
import { parseUrlList } from "./bep19-url-list.js";
import { fail } from "./fields.js";
import { parseInfoDict, parseInfoValue } from "./info-dict.js";
import type { MetainfoLimits } from "./limits.js";
import { resolveMetainfoLimits } from "./limits.js";
import { MetainfoError } from "./metainfo-error.js";
import type { Metainfo } from "./types.js";
import { urlString } from "./url-string.js";

const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Parses a .torrent file (BEP 3, with BEP 12 tiers, BEP 19 web seeds, BEP 27 private flag,
 * BEP 47 pad files, and the v1 view of hybrid v1+v2 torrents).
 *
 * Dict keys may be in any order, as real tools write them, but never repeated; the info hash
 * is the SHA-1 of the info dict's raw bytes as they appear in the file.
 * Input that does not open with a bencoded dict is refused as `NOT_A_TORRENT` with the message
 * "not a .torrent file (expected a bencoded dictionary)". Fields outside the info dict only
 * steer tracker choice and display, so a malformed one is dropped instead of failing the
 * torrent; a bad info dict always fails with a MetainfoError naming the field. The result does
 * not alias `bytes`.
 */
export function parseMetainfo(bytes: Uint8Array, limits?: Partial<MetainfoLimits>): Metainfo {
  const resolved = resolveMetainfoLimits(limits);
  if (bytes.length > resolved.maxTorrentBytes) {
    fail("TOO_LARGE", "torrent", `file is ${bytes.length} bytes, over the limit of ${resolved.maxTorrentBytes}`);
  }
  if (!opensLikeDict(bytes)) notATorrent();
  // One decode of a private copy (key order free, repeated keys refused everywhere), so the
  // result aliases only that copy. Decoding the info dict a second time on its own would
  // double the cost of parsing, which for a torrent of thousands of files is a good part of a
  // second before the download can start.
  const owned = new Uint8Array(bytes);
  let decoded: { value: BValue; spans: Map<string, Span> };
  try {
    decoded = decodeWithSpans(owned, ["info"], {
      keyOrder: "lenient",
      limits: { maxTokens: resolved.maxBencodeTokens },
    });
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    // Errors are rare and may cost a second pass: the two-pass reading reports a broken info
    // dict the way parseInfoDict does, with offsets inside the info dict.
    return parseInTwoPasses(bytes, resolved);
  }
  const { info, infoSpan, outer } = readOuter(decoded.value, decoded.spans.get("info"));
  const parsed = parseInfoValue(info, owned.slice(infoSpan.start, infoSpan.end), resolved);
  return { ...parsed, ...outer };
}

const NOT_A_TORRENT_MESSAGE = "not a .torrent file (expected a bencoded dictionary)";

/** ASCII `d`, `e`, `0` and `9`: how a bencoded dict opens and closes, and its key lengths' digits. */
const DICT_START = 0x64;
const DICT_END = 0x65;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * True when `bytes` open like a bencoded dict: `d` followed by the length digit of its first key
 * (dict keys are byte strings), or exactly `de`, the empty dict. Anything else (text, HTML, an
 * image, a bencoded list) is some other kind of file, and a decoder's byte offset would not help
 * whoever passed it; a file that opens like a dict and breaks later keeps the offset, which does
 * help. `de` followed by more bytes is text such as "default", never a torrent.
 */
function opensLikeDict(bytes: Uint8Array): boolean {
  const second = bytes[1];
  if (bytes[0] !== DICT_START || second === undefined) return false;
  return second === DICT_END ? bytes.length === 2 : second >= DIGIT_0 && second <= DIGIT_9;
}

function notATorrent(): never {
  throw new MetainfoError("NOT_A_TORRENT", NOT_A_TORRENT_MESSAGE, { context: { field: "torrent" } });
}

/** Decodes the whole file for the outer fields, then the info dict alone, for its own errors. */
function parseInTwoPasses(bytes: Uint8Array, limits: MetainfoLimits): Metainfo {
  let decoded: { value: BValue; spans: Map<string, Span> };
  try {
    decoded = decodeWithSpans(bytes, ["info"], { keyOrder: "lenient", limits: { maxTokens: limits.maxBencodeTokens } });
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new MetainfoError("INVALID_BENCODE", `torrent: ${err.message.replace(/^bencode: /, "")}`, {
      context: { field: "torrent", ...err.context },
      cause: err,
    });
  }
  const { infoSpan, outer } = readOuter(decoded.value, decoded.spans.get("info"));
  const parsed = parseInfoDict(bytes.subarray(infoSpan.start, infoSpan.end), limits);
  return { ...parsed, ...outer };
}

type OuterFields = Pick<Metainfo, "announce" | "announceList" | "urlList" | "comment" | "createdBy" | "creationDate">;

/** The outer fields of a decoded .torrent, its info dict and where the info dict lies. */
function readOuter(value: BValue, span: Span | undefined): { info: BDict; infoSpan: Span; outer: OuterFields } {
  // Unreachable after opensLikeDict and a complete decode, but it narrows the type honestly.
  if (!(value instanceof Map)) notATorrent();
  const info = value.get("info");
  if (info === undefined) fail("MISSING_FIELD", "info", "required field is missing");
  if (!(info instanceof Map) || span === undefined) fail("INVALID_FIELD", "info", "expected a dict");

  const announce = urlString(value.get("announce"));
  const comment = text(value, "comment.utf-8") ?? text(value, "comment");
  const createdBy = text(value, "created by");
  const creationDate = value.get("creation date");
  const outer: OuterFields = {
    ...(announce === undefined ? {} : { announce }),
    announceList: parseAnnounceList(value, announce),
    urlList: parseUrlList(value),
    ...(comment === undefined ? {} : { comment }),
    ...(createdBy === undefined ? {} : { createdBy }),
    ...(typeof creationDate === "number" && creationDate >= 0 ? { creationDate } : {}),
  };
  return { info, infoSpan: span, outer };
}

/** Display text: invalid UTF-8 is replaced rather than refused, a non-string is ignored. */
function text(root: BDict, key: string): string | undefined {
  const raw = root.get(key);
  return raw instanceof Uint8Array ? utf8Lenient.decode(raw) : undefined;
}
