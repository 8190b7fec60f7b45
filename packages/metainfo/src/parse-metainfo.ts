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
 * The outer dict may have unsorted keys (real tools write them); the info dict must be
 * canonical, and the info hash is the SHA-1 of its raw bytes as they appear in the file.
 * Fields outside the info dict only steer tracker choice and display, so a malformed one is
 * dropped instead of failing the torrent; a bad info dict always fails with a MetainfoError
 * naming the field. The result does not alias `bytes`.
 */
export function parseMetainfo(bytes: Uint8Array, limits?: Partial<MetainfoLimits>): Metainfo {
  const resolved = resolveMetainfoLimits(limits);
  if (bytes.length > resolved.maxTorrentBytes) {
    fail("TOO_LARGE", "torrent", `file is ${bytes.length} bytes, over the limit of ${resolved.maxTorrentBytes}`);
  }
  // One decode of a private copy, lenient in the outer dict and strict inside the info dict, so
  // the result aliases only that copy. Decoding the info dict a second time on its own would
  // double the cost of parsing, which for a torrent of thousands of files is a good part of a
  // second before the download can start.
  const owned = new Uint8Array(bytes);
  let decoded: { value: BValue; spans: Map<string, Span> };
  try {
    decoded = decodeWithSpans(owned, ["info"], {
      keyOrder: "lenient",
      strictKeyOrderIn: ["info"],
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

/** Decodes the whole file leniently for the outer fields, then the info dict alone, strictly. */
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
  if (!(value instanceof Map)) fail("INVALID_FIELD", "torrent", "expected a dict at the top level");
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
