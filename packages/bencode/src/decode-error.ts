import { ShoalError } from "@shoal/errors";

/**
 * Every way bencoded input (or a field read from it) can be wrong. The codes are a closed list
 * so callers can branch on them; the message carries the byte offset or field path for humans.
 */
export const DECODE_ERROR_CODES = [
  "UNEXPECTED_END",
  "INVALID_TOKEN",
  "INVALID_INTEGER",
  "INVALID_KEY",
  "MISSING_VALUE",
  "DEPTH_EXCEEDED",
  "TOO_MANY_TOKENS",
  "STRING_TOO_LONG",
  "LEADING_ZERO",
  "NEGATIVE_ZERO",
  "NEGATIVE_LENGTH",
  "DUPLICATE_KEY",
  "UNSORTED_KEY",
  "TRAILING_DATA",
  "INTEGER_OUT_OF_RANGE",
  "WRONG_TYPE",
  "MISSING_FIELD",
  "INVALID_UTF8",
  "UNENCODABLE",
] as const;

export type DecodeErrorCode = (typeof DECODE_ERROR_CODES)[number];

/**
 * The one error class of @shoal/bencode. Input errors carry `context.offset` (the byte where
 * the problem was found); accessor errors carry `context.field` (the dotted field path).
 * `UNENCODABLE` is thrown by `encode` for values bencode cannot represent.
 */
export class DecodeError extends ShoalError<DecodeErrorCode> {
  static override readonly name = "DecodeError";
}
