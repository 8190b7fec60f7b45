import { ShoalError } from "@shoal/errors";

/** Every way a .torrent (or an info dict fetched from peers) can be refused. */
export const METAINFO_ERROR_CODES = [
  /** The input does not open with a bencoded dict, so it is some other kind of file. */
  "NOT_A_TORRENT",
  /** The bytes are not valid bencode; `cause` is the DecodeError with the offset. */
  "INVALID_BENCODE",
  "MISSING_FIELD",
  "INVALID_FIELD",
  /** A file's sanitised path is over `maxPathBytes`; it cannot be shortened without changing the tree. */
  "PATH_TOO_LONG",
  "TOO_MANY_PIECES",
  "TOO_MANY_FILES",
  "PIECE_LENGTH_TOO_LARGE",
  "PIECES_LENGTH_MISMATCH",
  "EMPTY_TORRENT",
  "V2_ONLY",
  /** The torrent file or info dict is over `maxTorrentBytes`, or its total length overflows. */
  "TOO_LARGE",
  /** A piece, file or byte range outside the torrent was asked for (a caller bug). */
  "OUT_OF_RANGE",
  /** A magnet link without a usable `xt=urn:btih:` info hash, or not a magnet link at all. */
  "INVALID_MAGNET",
] as const;

export type MetainfoErrorCode = (typeof METAINFO_ERROR_CODES)[number];

/**
 * The one error class of @shoal/metainfo. Messages start with the field path and name the
 * problem and the value (`info.piece length: expected a positive integer, got -5`);
 * `context.field` holds the path where there is one. NOT_A_TORRENT is the exception: its
 * message is about the whole file.
 */
export class MetainfoError extends ShoalError<MetainfoErrorCode> {
  static override readonly name = "MetainfoError";
}
