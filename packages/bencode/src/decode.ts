import type { BValue } from "./bvalue.js";
import { DecodeError } from "./decode-error.js";
import { decodeOne } from "./decoder.js";
import type { DecoderSettings, Span } from "./decoder.js";
import type { BencodeLimits } from "./limits.js";
import { resolveLimits } from "./limits.js";

export type { Span } from "./decoder.js";

export interface DecodeOptions {
  /** Overrides for `DEFAULT_BENCODE_LIMITS`; fields left out keep their default. */
  readonly limits?: Partial<BencodeLimits>;
  /**
   * "strict" (the default) rejects dict keys that are not in ascending byte order, as canonical
   * bencode requires. "lenient" accepts them in the order they come, for outer torrent dicts
   * written by sloppy tools. Duplicate keys are rejected in both modes.
   */
  readonly keyOrder?: "strict" | "lenient";
  /**
   * Top-level dict keys whose values keep strict key order under "lenient": one pass over a
   * .torrent file then accepts a sloppy outer dict but only a canonical info dict.
   */
  readonly strictKeyOrderIn?: readonly string[];
  /** When true, bytes after the first complete value are ignored instead of rejected. */
  readonly allowTrailing?: boolean;
}

function settingsOf(options: DecodeOptions | undefined, spanKeys?: readonly string[]): DecoderSettings {
  return {
    limits: resolveLimits(options?.limits),
    strictKeyOrder: (options?.keyOrder ?? "strict") === "strict",
    strictKeys: options?.strictKeyOrderIn === undefined || options.strictKeyOrderIn.length === 0 ? undefined : new Set(options.strictKeyOrderIn),
    spanKeys: spanKeys === undefined || spanKeys.length === 0 ? undefined : new Set(spanKeys),
  };
}

function rejectTrailing(bytes: Uint8Array, end: number, options: DecodeOptions | undefined): void {
  if (end < bytes.length && options?.allowTrailing !== true) {
    throw new DecodeError(
      "TRAILING_DATA",
      `bencode: ${bytes.length - end} bytes of trailing data after the value at byte ${end}`,
      { context: { offset: end, trailingBytes: bytes.length - end } },
    );
  }
}

/**
 * Decodes one bencoded value that must fill `bytes` (unless `allowTrailing`).
 *
 * Byte strings in the result are `subarray` views that alias `bytes`: decoding a multi-megabyte
 * `pieces` field copies nothing, and changing `bytes` afterwards changes the decoded value. Copy
 * (`slice()`) a string that must outlive or be isolated from its input buffer.
 *
 * Throws DecodeError for malformed input or exceeded limits; never any other error.
 */
export function decode(bytes: Uint8Array, options?: DecodeOptions): BValue {
  const { value, end } = decodeOne(bytes, 0, settingsOf(options));
  rejectTrailing(bytes, end, options);
  return value;
}

/**
 * Like `decode`, and also reports the raw byte span [start, end) of the value under each of the
 * given top-level dict keys (latin1 key strings, as in BDict). `spans.get("info")` is exactly the
 * bytes a torrent's info hash is computed from. Keys that are absent (or a top-level value that
 * is not a dict) simply yield no span.
 */
export function decodeWithSpans(
  bytes: Uint8Array,
  keys: readonly string[],
  options?: DecodeOptions,
): { value: BValue; spans: Map<string, Span> } {
  const { value, end, spans } = decodeOne(bytes, 0, settingsOf(options, keys));
  rejectTrailing(bytes, end, options);
  return { value, spans };
}

/**
 * Decodes the one value at the front of `bytes` and returns the offset just past it, for
 * messages where raw bytes follow a bencoded dict (BEP 9 metadata pieces). Never reads past
 * `bytes.length`: a value cut short throws UNEXPECTED_END. `allowTrailing` is implied.
 */
export function decodePrefix(bytes: Uint8Array, options?: DecodeOptions): { value: BValue; end: number } {
  const { value, end } = decodeOne(bytes, 0, settingsOf(options));
  return { value, end };
}
