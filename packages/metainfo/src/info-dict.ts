import { createHash } from "node:crypto";
import { asDict, asInt, asList, decode, DecodeError, describeType, fieldPath, getBytes, getList, optBytes } from "@shoal/bencode";
import type { BDict, BValue } from "@shoal/bencode";
import { fail, field } from "./fields.js";
import type { MetainfoLimits } from "./limits.js";
import { resolveMetainfoLimits } from "./limits.js";
import { MetainfoError } from "./metainfo-error.js";
import { REPLACEMENT, utf8Length } from "./component-length.js";
import { resolvePathCollisions } from "./path-collisions.js";
import { sanitizePathComponent } from "./path-component.js";
import type { InfoDict, TorrentFile } from "./types.js";

/** Each piece has one SHA-1 hash in `pieces`. */
const SHA1_BYTES = 20;
/** BEP 47: the `p` flag in a file's `attr` marks a pad file. */
const PAD_FILE_FLAG = 0x70;

/**
 * Decodes an info dict on its own (BEP 9 metadata from peers, or the raw span of a .torrent)
 * and parses it. Keys may come in any order: libtorrent and Transmission load such torrents and
 * they exist in the wild, and the info hash is the SHA-1 of these exact bytes, never of a
 * re-encoding, so the order cannot change which torrent this is. Duplicate keys are refused: a
 * dict with two readings of one field is not guessed at. The result owns a copy of `infoBytes`,
 * so the caller may reuse its buffer.
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
    value = decode(owned, { keyOrder: "lenient", limits: { maxTokens: resolved.maxBencodeTokens } });
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    throw new MetainfoError("INVALID_BENCODE", `info: ${err.message.replace(/^bencode: /, "")} of the info dict`, {
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
  // Hashed first: a name that sanitises to nothing is replaced with the hash.
  const infoHash = new Uint8Array(createHash("sha1").update(infoBytes).digest());
  const infoHashHex = Buffer.from(infoHash).toString("hex");
  const name = readName(info, infoHashHex);
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

  return {
    infoHash,
    infoHashHex,
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

/**
 * The sanitised name: the file of a single-file torrent, the top directory of a multi-file one.
 * `name.utf-8` wins over `name` when it leaves something after sanitising, since it is the
 * tool's explicit UTF-8 rendering. A name with nothing left (`..`, empty) becomes the info hash
 * in hex, which names this torrent and no other.
 */
function readName(info: BDict, infoHashHex: string): string {
  const utf8Name = field(() => optBytes(info, "name.utf-8", "info"));
  const name = field(() => getBytes(info, "name", "info"));
  return (utf8Name === undefined ? undefined : sanitizePathComponent(utf8Name)) ?? sanitizePathComponent(name) ?? infoHashHex;
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

/**
 * Refuses a file whose sanitised `<name>/<path...>` is over `maxPathBytes`. This is the one name
 * problem that is refused rather than repaired: every component is already cut to 255 bytes, so
 * only the depth of the tree is left, and flattening it would change the torrent's layout.
 */
function checkPathBytes(name: string, path: readonly string[], where: string, limits: MetainfoLimits): void {
  let bytes = utf8Length(name);
  for (const component of path) bytes += 1 + utf8Length(component);
  if (bytes > limits.maxPathBytes) {
    fail(
      "PATH_TOO_LONG",
      where,
      `path is ${bytes} bytes after sanitising (name included), over the limit of ${limits.maxPathBytes}; it cannot be shortened without changing the torrent's directory tree`,
    );
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
    // BEP 47: attr is a string of flags; a pad file exists only to align the next file to a piece.
    const attr = field(() => optBytes(entry, "attr", where));
    const padding = attr !== undefined && attr.includes(PAD_FILE_FLAG);
    files.push({ index, path, length, offset, padding });
    offset += length;
    if (!Number.isSafeInteger(offset)) fail("TOO_LARGE", "info.files", `total length passes 2^53-1 bytes at ${where}`);
  }
  resolvePathCollisions(files);
  // Checked after renames, which lengthen paths. Pad files are never written, so their paths
  // cannot be too long for the file system.
  for (const file of files) {
    if (!file.padding) checkPathBytes(name, file.path, `info.files[${file.index}].path`, limits);
  }
  return files;
}

/**
 * A file's sanitised path components. `path.utf-8` wins over `path` when it leaves something
 * after sanitising, as with the name. Components with nothing left (empty, `.`, `..`) are
 * dropped; a path with no component left, or none to begin with, becomes `_`, as in libtorrent,
 * so the file still has a name of its own under the torrent's directory.
 */
function readPath(entry: BDict, where: string): string[] {
  if (entry.has("path.utf-8")) {
    const utf8Path = sanitizedList(entry, "path.utf-8", where);
    if (utf8Path.length > 0) return utf8Path;
    if (!entry.has("path")) return [REPLACEMENT];
  }
  const path = sanitizedList(entry, "path", where);
  return path.length > 0 ? path : [REPLACEMENT];
}

/** The components of the list at `key` that are left after sanitising. */
function sanitizedList(entry: BDict, key: string, where: string): string[] {
  const components = field(() => getList(entry, key, where));
  const listPath = fieldPath(where, key);
  const path: string[] = [];
  components.forEach((component, i) => {
    if (!(component instanceof Uint8Array)) {
      fail("INVALID_FIELD", fieldPath(listPath, i), `expected a byte string, got ${describeType(component)}`);
    }
    const safe = sanitizePathComponent(component);
    if (safe !== undefined) path.push(safe);
  });
  // A copy sized exactly: an array grown by push keeps room for 16 components, 100 bytes more for
  // each of a torrent's files in every service that loads it.
  return path.slice();
}
