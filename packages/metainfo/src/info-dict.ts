import { createHash } from "node:crypto";
import { asDict, asInt, asList, decode, DecodeError, describeType, fieldPath, getBytes, getList, optBytes } from "@shoal/bencode";
import type { BDict, BValue } from "@shoal/bencode";
import { fail, field } from "./fields.js";
import type { MetainfoLimits } from "./limits.js";
import { resolveMetainfoLimits } from "./limits.js";
import { MetainfoError } from "./metainfo-error.js";
import { checkPathCollisions } from "./path-collisions.js";
import { checkPathComponent, utf8Length } from "./path-component.js";
import type { InfoDict, TorrentFile } from "./types.js";

/** Each piece has one SHA-1 hash in `pieces`. */
const SHA1_BYTES = 20;
/** BEP 47: the `p` flag in a file's `attr` marks a pad file. */
const PAD_FILE_FLAG = 0x70;

/**
 * Decodes an info dict on its own (BEP 9 metadata from peers, or the raw span of a .torrent)
 * and parses it. Its keys must be sorted and unique: the info hash covers these exact bytes, and
 * a dict with two readings is refused rather than guessed at. The result owns a copy of
 * `infoBytes`, so the caller may reuse its buffer.
 */
export function parseInfoDict(infoBytes: Uint8Array, limits?: Partial<MetainfoLimits>): InfoDict {
  const resolved = resolveMetainfoLimits(limits);
  if (infoBytes.length > resolved.maxTorrentBytes) {
    fail("TOO_LARGE", "info", `info dict is ${infoBytes.length} bytes, over the limit of ${resolved.maxTorrentBytes}`);
  }
  // Not `slice()`: on a Buffer that returns a view, and the result must not alias the input.
  const owned = new Uint8Array(infoBytes);
  let value: BValue;
  try {
    value = decode(owned, { keyOrder: "strict", limits: { maxTokens: resolved.maxBencodeTokens } });
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    const code = err.code === "UNSORTED_KEY" ? "NON_CANONICAL_INFO" : "INVALID_BENCODE";
    const hint = code === "NON_CANONICAL_INFO" ? " (an info dict must be canonical bencode)" : "";
    throw new MetainfoError(code, `info: ${err.message.replace(/^bencode: /, "")} of the info dict${hint}`, {
      context: { field: "info", ...err.context },
      cause: err,
    });
  }
  return parseInfoValue(field(() => asDict(value, "info")), owned, resolved);
}

/**
 * Parses a decoded info dict whose raw bytes are `infoBytes`. Byte strings in `info` must not
 * alias memory the caller may change: the result keeps them.
 */
export function parseInfoValue(info: BDict, infoBytes: Uint8Array, limits: MetainfoLimits): InfoDict {
  const pieces = info.get("pieces");
  if (pieces === undefined && (info.get("meta version") === 2 || info.has("file tree"))) {
    fail("V2_ONLY", "info", "this is a BitTorrent v2-only torrent (no v1 'pieces'); only v1 and hybrid v1+v2 torrents are supported");
  }
  const name = readName(info);
  const pieceLength = readPieceLength(info, limits);
  const pieceHashes = field(() => getBytes(info, "pieces", "info"));
  if (pieceHashes.length % SHA1_BYTES !== 0) {
    fail("PIECES_LENGTH_MISMATCH", "info.pieces", `length ${pieceHashes.length} is not a multiple of ${SHA1_BYTES}`);
  }
  const pieceCount = pieceHashes.length / SHA1_BYTES;
  if (pieceCount > limits.maxPieces) {
    fail("TOO_MANY_PIECES", "info.pieces", `${pieceCount} pieces, over the limit of ${limits.maxPieces}`);
  }

  const hasLength = info.has("length");
  const hasFiles = info.has("files");
  if (hasLength && hasFiles) {
    fail("INVALID_FIELD", "info", "has both 'length' (single-file) and 'files' (multi-file); exactly one is allowed");
  }
  if (!hasLength && !hasFiles) {
    fail("MISSING_FIELD", "info", "needs either 'length' (single-file) or 'files' (multi-file)");
  }
  const files = hasFiles ? readFiles(info, name, limits) : [singleFile(info, name, limits)];
  const last = files[files.length - 1];
  const totalLength = last === undefined ? 0 : last.offset + last.length;
  if (totalLength === 0) fail("EMPTY_TORRENT", "info", "torrent has no data (total length 0)");

  const expectedPieces = Math.ceil(totalLength / pieceLength);
  if (pieceCount !== expectedPieces) {
    fail(
      "PIECES_LENGTH_MISMATCH",
      "info.pieces",
      `has ${pieceCount} hashes, but ${totalLength} bytes at piece length ${pieceLength} make ${expectedPieces} pieces`,
    );
  }

  const infoHash = new Uint8Array(createHash("sha1").update(infoBytes).digest());
  return {
    infoHash,
    infoHashHex: Buffer.from(infoHash).toString("hex"),
    name,
    pieceLength,
    pieceCount,
    totalLength,
    lastPieceLength: totalLength - (pieceCount - 1) * pieceLength,
    pieceHashes,
    files,
    multiFile: hasFiles,
    // BEP 27: only the integer 1 marks a private torrent; anything else is public.
    private: info.get("private") === 1,
    infoBytes,
  };
}

/** `name.utf-8` wins over `name` when present, since it is the tool's explicit UTF-8 rendering. */
function readName(info: BDict): string {
  const utf8Name = field(() => optBytes(info, "name.utf-8", "info"));
  if (utf8Name !== undefined) return checkPathComponent(utf8Name, "info.name.utf-8");
  return checkPathComponent(field(() => getBytes(info, "name", "info")), "info.name");
}

function readPieceLength(info: BDict, limits: MetainfoLimits): number {
  const where = "info.piece length";
  const raw = info.get("piece length");
  if (raw === undefined) fail("MISSING_FIELD", where, "required field is missing");
  const pieceLength = typeof raw === "bigint" ? raw : field(() => asInt(raw, where));
  if (pieceLength <= 0) fail("INVALID_FIELD", where, `expected a positive integer, got ${pieceLength}`);
  if (pieceLength > limits.maxPieceLengthBytes) {
    fail("PIECE_LENGTH_TOO_LARGE", where, `${pieceLength} bytes, over the limit of ${limits.maxPieceLengthBytes}`);
  }
  return Number(pieceLength);
}

/** A file length: a non-negative integer that fits a JS number exactly. */
function readLength(value: BValue | undefined, where: string): number {
  if (value === undefined) fail("MISSING_FIELD", where, "required field is missing");
  if (typeof value === "bigint") fail("TOO_LARGE", where, `${value} bytes is beyond 2^53-1`);
  const length = field(() => asInt(value, where));
  if (length < 0) fail("INVALID_FIELD", where, `expected a non-negative integer, got ${length}`);
  return length;
}

function checkPathBytes(name: string, path: readonly string[], where: string, limits: MetainfoLimits): void {
  let bytes = utf8Length(name);
  for (const component of path) bytes += 1 + utf8Length(component);
  if (bytes > limits.maxPathBytes) {
    fail("PATH_TOO_LONG", where, `path is ${bytes} bytes including the name, over the limit of ${limits.maxPathBytes}`);
  }
}

function singleFile(info: BDict, name: string, limits: MetainfoLimits): TorrentFile {
  checkPathBytes(name, [], "info.name", limits);
  return { index: 0, path: [], length: readLength(info.get("length"), "info.length"), offset: 0, padding: false };
}

function readFiles(info: BDict, name: string, limits: MetainfoLimits): TorrentFile[] {
  const list = field(() => asList(info.get("files")!, "info.files"));
  if (list.length > limits.maxFiles) {
    fail("TOO_MANY_FILES", "info.files", `${list.length} files, over the limit of ${limits.maxFiles}`);
  }
  const files: TorrentFile[] = [];
  let offset = 0;
  for (let index = 0; index < list.length; index++) {
    const where = `info.files[${index}]`;
    const entry = field(() => asDict(list[index]!, where));
    const length = readLength(entry.get("length"), `${where}.length`);
    const path = readPath(entry, where);
    checkPathBytes(name, path, `${where}.path`, limits);
    // BEP 47: attr is a string of flags; a pad file exists only to align the next file to a piece.
    const attr = field(() => optBytes(entry, "attr", where));
    const padding = attr !== undefined && attr.includes(PAD_FILE_FLAG);
    files.push({ index, path, length, offset, padding });
    offset += length;
    if (!Number.isSafeInteger(offset)) fail("TOO_LARGE", "info.files", `total length passes 2^53-1 bytes at ${where}`);
  }
  checkPathCollisions(files);
  return files;
}

/** `path.utf-8` wins over `path` when present, as with the name. */
function readPath(entry: BDict, where: string): string[] {
  const key = entry.has("path.utf-8") ? "path.utf-8" : "path";
  const components = field(() => getList(entry, key, where));
  const listPath = fieldPath(where, key);
  if (components.length === 0) fail("UNSAFE_PATH", listPath, "an empty path is not allowed");
  return components.map((component, i) => {
    const componentPath = fieldPath(listPath, i);
    if (!(component instanceof Uint8Array)) {
      fail("INVALID_FIELD", componentPath, `expected a byte string, got ${describeType(component)}`);
    }
    return checkPathComponent(component, componentPath);
  });
}
