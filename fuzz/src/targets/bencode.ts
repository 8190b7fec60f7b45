import fc from "fast-check";
import { DECODE_ERROR_CODES, DecodeError, decode, decodePrefix, decodeWithSpans, encode, isDict, type BValue } from "@shoal/bencode";
import { bValue, bencodeSoup, sample } from "../arbitraries.js";
import { Rng } from "../rng.js";
import { InvariantViolation, ascii, bytesEqual, check, outcome, type FuzzTarget } from "../target.js";

/** Limits small enough that mutated inputs cross each of them. */
const SMALL_LIMITS = { maxDepth: 8, maxTokens: 256, maxStringBytes: 1024 };
const SPAN_KEYS = ["info", "a", ""];
const KEYS = ["info", "announce", "pieces", "piece length", "name", "length", "files", "path", "peers", "interval", "m", "a", ""];

function kind(value: BValue): string {
  if (typeof value === "number") return "int";
  if (typeof value === "bigint") return "bigint";
  if (value instanceof Uint8Array) return "bytes";
  return Array.isArray(value) ? "list" : "dict";
}

/** A DecodeError with a known code whose offset (when it has one) lies inside the input. */
function documented(input: Uint8Array) {
  return (err: unknown): string | undefined => {
    if (!(err instanceof DecodeError) || !(DECODE_ERROR_CODES as readonly string[]).includes(err.code)) return undefined;
    const offset = err.context["offset"];
    check(
      offset === undefined || (typeof offset === "number" && Number.isInteger(offset) && offset >= 0 && offset <= input.length),
      `DecodeError ${err.code} names offset ${String(offset)} outside an input of ${input.length} bytes`,
    );
    return err.code;
  };
}

/**
 * Every public decode entry point over the same bytes: strict `decode` (whatever it accepts must
 * re-encode to the same bytes), lenient `decode` with trailing data allowed, `decodePrefix` (its
 * end lies inside the input, and on a strictly valid input is the input's end), `decodeWithSpans`
 * (each span's bytes decode to the value under its key), and `decode` under small limits.
 */
export const bencodeTarget: FuzzTarget = {
  name: "bencode",
  description: "decode (strict, lenient + trailing, small limits), decodePrefix, decodeWithSpans",
  bencode: true,
  maxInputBytes: 64 * 1024,
  dictionary: ["i", "l", "d", "e", "i0e", "i-1e", "0:", "le", "de", ...KEYS.map((k) => `${k.length}:${k}`)].map(ascii),
  seeds: () => [
    ascii("d8:announce20:http://t.test/ann4:infod6:lengthi3e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"),
    ascii("li1ei-1e0:3:abcl4:spamdee"),
    ascii(`i${"9".repeat(40)}e`),
    ascii("d1:md11:ut_metadatai2ee4:reqqi500e1:v13:shoal/0.1.0.0e"),
  ],
  generate(seed, count) {
    const rng = new Rng(seed);
    return sample(fc.oneof(bValue(KEYS).map((v) => encode(v)), bencodeSoup), seed, count).map((b) =>
      // A few generated documents get trailing bytes, which only the lenient reads accept.
      rng.chance(0.05) ? new Uint8Array([...b, ...rng.bytes(rng.between(1, 4))]) : b,
    );
  },
  run(input) {
    const doc = documented(input);
    let strict: BValue | undefined;
    const strictLabel = outcome(() => {
      strict = decode(input);
      return kind(strict);
    }, doc);
    if (strict !== undefined) {
      check(bytesEqual(encode(strict), input), "a strictly decoded value does not re-encode to its input");
    }
    const lenientLabel = outcome(() => kind(decode(input, { keyOrder: "lenient", allowTrailing: true })), doc);
    outcome(() => {
      const { value, end } = decodePrefix(input);
      check(Number.isInteger(end) && end > 0 && end <= input.length, `decodePrefix end ${end} is outside 1..${input.length}`);
      if (strict !== undefined) check(end === input.length, "decodePrefix stops early on a strictly valid input");
      return kind(value);
    }, doc);
    outcome(() => {
      const { value, spans } = decodeWithSpans(input, SPAN_KEYS, { keyOrder: "lenient" });
      for (const [key, span] of spans) {
        check(isDict(value) && value.has(key), `a span for key ${JSON.stringify(key)} that the top-level dict lacks`);
        check(span.start >= 0 && span.start < span.end && span.end <= input.length, `span ${span.start}..${span.end} outside the input`);
        let inner: BValue;
        try {
          inner = decode(input.subarray(span.start, span.end), { keyOrder: "lenient" });
        } catch (err) {
          throw new InvariantViolation(`the span of ${JSON.stringify(key)} does not decode on its own: ${String(err)}`);
        }
        check(bytesEqual(encode(inner), encode(value.get(key)!)), `the span of ${JSON.stringify(key)} holds another value`);
      }
      return `${kind(value)}:${spans.size}`;
    }, doc);
    const smallLabel = outcome(() => kind(decode(input, { limits: SMALL_LIMITS, keyOrder: "lenient", allowTrailing: true })), doc);
    return `${strictLabel}|${lenientLabel}|${smallLabel}`;
  },
};
