import { DecodeError } from "@shoal/bencode";
import { MetainfoError } from "./metainfo-error.js";
import type { MetainfoErrorCode } from "./metainfo-error.js";

/**
 * Runs a typed read from @shoal/bencode and turns its DecodeError (missing field, wrong type,
 * integer out of range) into a MetainfoError with the same field-path message, so callers of
 * this package see one error class. The DecodeError stays attached as `cause`.
 */
export function field<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof DecodeError) {
      const code: MetainfoErrorCode = err.code === "MISSING_FIELD" ? "MISSING_FIELD" : "INVALID_FIELD";
      throw new MetainfoError(code, err.message, { context: err.context, cause: err });
    }
    throw err;
  }
}

/** Throws a MetainfoError whose message starts with the field path. */
export function fail(code: MetainfoErrorCode, fieldName: string, problem: string, extra: Record<string, string | number> = {}): never {
  throw new MetainfoError(code, `${fieldName}: ${problem}`, { context: { field: fieldName, ...extra } });
}
