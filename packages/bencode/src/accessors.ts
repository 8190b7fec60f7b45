import type { BDict, BValue } from "./bvalue.js";
import { describeType } from "./bvalue.js";
import { DecodeError } from "./decode-error.js";
import type { DecodeErrorCode } from "./decode-error.js";

/**
 * Typed reads of decoded values for parsers. Every failure is a DecodeError whose message starts
 * with the field path (`info.files[3].length: expected an integer, got a list`) and whose
 * `context.field` holds that path, so a bad torrent names its bad field.
 */

export interface StringOptions {
  /**
   * "throw" (the default) rejects bytes that are not valid UTF-8 with INVALID_UTF8; "replace"
   * substitutes U+FFFD for each invalid sequence, for display-only text from sloppy tools.
   */
  readonly invalidUtf8?: "throw" | "replace";
}

// ignoreBOM keeps a leading U+FEFF as data; the default would silently drop it.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Joins a field path: `fieldPath("info", "name")` is "info.name", `fieldPath("info.files", 3)` "info.files[3]". */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

function fieldError(code: DecodeErrorCode, field: string, problem: string): never {
  throw new DecodeError(code, `${field}: ${problem}`, { context: { field } });
}

function wrongType(field: string, expected: string, value: BValue): never {
  fieldError("WRONG_TYPE", field, `expected ${expected}, got ${describeType(value)}`);
}

export function asDict(value: BValue, field: string): BDict {
  if (!(value instanceof Map)) wrongType(field, "a dict", value);
  return value;
}

export function asList(value: BValue, field: string): BValue[] {
  if (!Array.isArray(value)) wrongType(field, "a list", value);
  return value;
}

export function asBytes(value: BValue, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) wrongType(field, "a byte string", value);
  return value;
}

/** An integer that fits a JS number exactly; larger ones are INTEGER_OUT_OF_RANGE, never rounded. */
export function asInt(value: BValue, field: string): number {
  if (typeof value === "bigint") {
    fieldError("INTEGER_OUT_OF_RANGE", field, `integer ${value} is outside the safe range of ±(2^53-1)`);
  }
  if (typeof value !== "number") wrongType(field, "an integer", value);
  return value;
}

/** Decodes a byte string as UTF-8 text. */
export function asString(value: BValue, field: string, options?: StringOptions): string {
  const bytes = asBytes(value, field);
  if (options?.invalidUtf8 === "replace") return lenientUtf8.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return fieldError("INVALID_UTF8", field, `byte string of ${bytes.length} bytes is not valid UTF-8`);
  }
}

function required(dict: BDict, key: string, parent: string): BValue {
  const value = dict.get(key);
  if (value === undefined) fieldError("MISSING_FIELD", fieldPath(parent, key), "required field is missing");
  return value;
}

/** `parent` is the path of `dict` itself ("" for the top level), used in error messages. */
export function getDict(dict: BDict, key: string, parent = ""): BDict {
  return asDict(required(dict, key, parent), fieldPath(parent, key));
}

export function getList(dict: BDict, key: string, parent = ""): BValue[] {
  return asList(required(dict, key, parent), fieldPath(parent, key));
}

export function getBytes(dict: BDict, key: string, parent = ""): Uint8Array {
  return asBytes(required(dict, key, parent), fieldPath(parent, key));
}

export function getInt(dict: BDict, key: string, parent = ""): number {
  return asInt(required(dict, key, parent), fieldPath(parent, key));
}

export function getString(dict: BDict, key: string, parent = "", options?: StringOptions): string {
  return asString(required(dict, key, parent), fieldPath(parent, key), options);
}

/** The `opt*` readers return undefined when the key is absent but still throw on a wrong type. */
export function optDict(dict: BDict, key: string, parent = ""): BDict | undefined {
  const value = dict.get(key);
  return value === undefined ? undefined : asDict(value, fieldPath(parent, key));
}

export function optList(dict: BDict, key: string, parent = ""): BValue[] | undefined {
  const value = dict.get(key);
  return value === undefined ? undefined : asList(value, fieldPath(parent, key));
}

export function optBytes(dict: BDict, key: string, parent = ""): Uint8Array | undefined {
  const value = dict.get(key);
  return value === undefined ? undefined : asBytes(value, fieldPath(parent, key));
}

export function optInt(dict: BDict, key: string, parent = ""): number | undefined {
  const value = dict.get(key);
  return value === undefined ? undefined : asInt(value, fieldPath(parent, key));
}

export function optString(dict: BDict, key: string, parent = "", options?: StringOptions): string | undefined {
  const value = dict.get(key);
  return value === undefined ? undefined : asString(value, fieldPath(parent, key), options);
}
