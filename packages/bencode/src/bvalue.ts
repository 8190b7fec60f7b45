/**
 * A decoded bencode value. Integers are `number` when they are safe integers and `bigint`
 * otherwise, so no value is ever rounded. Byte strings are `Uint8Array` views into the decoded
 * input (see `decode`).
 */
export type BValue = number | bigint | Uint8Array | BValue[] | BDict;

/**
 * A decoded dictionary. Keys are the raw key bytes as latin1 ("binary") strings, one char per
 * byte, so any key (even invalid UTF-8) survives a round trip and comparing two keys with `<`
 * compares their bytes. A Map has no prototype chain to pollute, so `__proto__` is an ordinary key.
 */
export type BDict = Map<string, BValue>;

export function isDict(value: BValue): value is BDict {
  return value instanceof Map;
}

export function isList(value: BValue): value is BValue[] {
  return Array.isArray(value);
}

export function isBytes(value: BValue): value is Uint8Array {
  return value instanceof Uint8Array;
}

export function isInteger(value: BValue): value is number | bigint {
  return typeof value === "number" || typeof value === "bigint";
}

/** Names the type of a value for error messages ("expected a dict, got a list"). */
export function describeType(value: BValue): string {
  if (typeof value === "number" || typeof value === "bigint") return "an integer";
  if (value instanceof Uint8Array) return "a byte string";
  if (Array.isArray(value)) return "a list";
  return "a dict";
}
