export type { BDict, BValue } from "./bvalue.js";
export { describeType, isBytes, isDict, isInteger, isList } from "./bvalue.js";
export { DECODE_ERROR_CODES, DecodeError } from "./decode-error.js";
export type { DecodeErrorCode } from "./decode-error.js";
export { DEFAULT_BENCODE_LIMITS, MAX_INTEGER_DIGITS } from "./limits.js";
export type { BencodeLimits } from "./limits.js";
export { decode, decodePrefix, decodeWithSpans } from "./decode.js";
export type { DecodeOptions, Span } from "./decode.js";
export { encode } from "./encode.js";
export type { Encodable } from "./encode.js";
export { bytesToLatin1, latin1ToBytes } from "./latin1.js";
export {
  asBytes,
  asDict,
  asInt,
  asList,
  asString,
  fieldPath,
  getBytes,
  getDict,
  getInt,
  getList,
  getString,
  optBytes,
  optDict,
  optInt,
  optList,
  optString,
} from "./accessors.js";
export type { StringOptions } from "./accessors.js";
