import { decodeWithSpans, DecodeError } from "@shoal/bencode";
import type { BDict, BValue, Span } from "@shoal/bencode";
import { parseAnnounceList } from "./bep12-announce-list.js";
import { parseUrlList } from "./bep19-url-list.js";
import { fail } from "./fields.js";
import { parseInfoDict } from "./info-dict.js";
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
 * Fields outside the info dict only steer tracker choice and display, so a malformed one is
 * dropped instead of failing the torrent; a bad info dict always fails with a MetainfoError
 * naming the field. The result does not alias `bytes`.
 */
export function parseMetainfo(bytes: Uint8Array, limits?: Partial<MetainfoLimits>): Metainfo {
  const resolved = resolveMetainfoLimits(limits);
  if (bytes.length > resolved.maxTorrentBytes) {
    fail("TOO_LARGE", "torrent", `file is ${bytes.length} bytes, over the limit of ${resolved.maxTorrentBytes}`);
  }
  const { infoSpan, outer } = readOuter(bytes, resolved);
  // The info dict is decoded a second time, from a private copy of its raw bytes, so the result
  // is independent of `bytes` and parses exactly as BEP 9 metadata from peers would. The outer
  // tree is out of scope by now, so both decoded trees never have to fit in memory.
  const parsed = parseInfoDict(bytes.subarray(infoSpan.start, infoSpan.end), resolved);
  return { ...parsed, ...outer };
}

type OuterFields = Pick<Metainfo, "announce" | "announceList" | "urlList" | "comment" | "createdBy" | "creationDate">;

/** Decodes the whole file leniently and keeps only the outer fields and where `info` lies. */
function readOuter(bytes: Uint8Array, limits: MetainfoLimits): { infoSpan: Span; outer: OuterFields } {
  let value: BValue;
  let span: Span | undefined;
  try {
    const decoded = decodeWithSpans(bytes, ["info"], { keyOrder: "lenient", limits: { maxTokens: limits.maxBencodeTokens } });
    value = decoded.value;
    span = decoded.spans.get("info");
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new MetainfoError("INVALID_BENCODE", `torrent: ${err.message.replace(/^bencode: /, "")}`, {
      context: { field: "torrent", ...err.context },
      cause: err,
    });
  }
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
  return { infoSpan: span, outer };
}

/** Display text: invalid UTF-8 is replaced rather than refused, a non-string is ignored. */
function text(root: BDict, key: string): string | undefined {
  const raw = root.get(key);
  return raw instanceof Uint8Array ? utf8Lenient.decode(raw) : undefined;
}
