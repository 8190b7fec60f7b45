import { fail, quote } from "./fields.js";

// Invalid UTF-8 is replaced with U+FFFD, not refused: old tools wrote names in local code pages
// and the data is still worth having; the replaced name is still checked below.
const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** A drive prefix such as `C:` makes a Windows path absolute (or drive-relative). */
const WINDOWS_DRIVE = /^[A-Za-z]:/;

/** Returns why `text` is not a safe single path component, or undefined when it is safe. */
function problemWith(text: string): string | undefined {
  if (text === "") return "an empty path component is not allowed";
  if (text === "." || text === "..") return `${quote(text)} is not allowed`;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      return `${quote(text)} contains control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    }
    if (code === 0x2f || code === 0x5c) return `${quote(text)} contains a path separator ${quote(text[i]!)}`;
  }
  if (WINDOWS_DRIVE.test(text)) return `${quote(text)} starts with a Windows drive letter`;
  return undefined;
}

/**
 * Decodes and checks one path component; `fieldName` names it in the error
 * (`info.files[3].path[1]`). Returns the component as text, unchanged when it is safe.
 */
export function checkPathComponent(raw: Uint8Array | string, fieldName: string): string {
  // A JS string may hold lone surrogates, which no file system stores as such: normalise them
  // to U+FFFD exactly as invalid UTF-8 bytes are.
  const text = typeof raw === "string" ? utf8Lenient.decode(utf8Encoder.encode(raw)) : utf8Lenient.decode(raw);
  const problem = problemWith(text);
  if (problem !== undefined) fail("UNSAFE_PATH", fieldName, problem, { component: text.slice(0, 256) });
  return text;
}

/**
 * Checks that `raw` (bytes from a torrent, or text) is one safe path component: not empty, `.`
 * or `..`, no NUL or other control characters, no `/` or `\`, no `C:` drive prefix. Invalid UTF-8
 * is replaced with U+FFFD. Returns the component; throws MetainfoError UNSAFE_PATH otherwise.
 * Joining safe components under a directory can never leave that directory.
 */
export function sanitizePathComponent(raw: Uint8Array | string): string {
  return checkPathComponent(raw, "path component");
}

/** The UTF-8 length of text without allocating its encoding. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point (lone surrogates were replaced already).
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}
