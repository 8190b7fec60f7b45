import { ShoalError } from "@shoal/errors";

/** Every way a .torrent (or an info dict fetched from peers) can be refused. */
export const METAINFO_ERROR_CODES = [
  /** The input does not open with a bencoded dict, so it is some other kind of file. */
  "NOT_A_TORRENT",
  /** The bytes are not valid bencode; `cause` is the DecodeError with the offset. */
  "INVALID_BENCODE",
  "MISSING_FIELD",
  "INVALID_FIELD",
  "UNSAFE_PATH",
  "DUPLICATE_PATH",
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
] as const;

export type MetainfoErrorCode = (typeof METAINFO_ERROR_CODES)[number];

/**
 * The one error class of @shoal/metainfo. Messages start with the field path and name the
 * problem and the value (`info.files[3].path[1]: ".." is not allowed`); `context.field` holds
 * the path where there is one.
 */
export class MetainfoError extends ShoalError<MetainfoErrorCode> {
  static override readonly name = "MetainfoError";
}
