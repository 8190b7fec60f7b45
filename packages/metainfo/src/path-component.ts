import { REPLACEMENT, shortenComponent, stripTrailingDotsAndSpaces } from "./component-length.js";

// Invalid UTF-8 becomes U+FFFD rather than failing the torrent: old tools wrote names in local
// code pages and the data is still worth having.
const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Characters that are replaced with REPLACEMENT wherever they appear in a component:
 * - C0 controls, DEL and C1 controls (U+0000-U+001F, U+007F-U+009F): NUL ends a C string, and
 *   the others are terminal escape sequences waiting for the next `ls`.
 * - `/` and `\`: separators on POSIX and Windows; inside one component they would add levels.
 * - `< > : " | ? *`: refused by Windows, and by NTFS, exFAT and FAT even when mounted on Linux,
 *   where a download onto a USB disk or an SMB share would otherwise fail half-way with EINVAL.
 *   They are replaced on every platform, as Transmission does, so a torrent lands under the same
 *   names on every host and store. `:` also stops drive (`C:`) and stream (`a:$DATA`) names.
 * - Bidirectional marks and overrides (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069): they make
 *   `exe.mp4` display as something else; libtorrent removes them for that reason.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f/\\<>:"|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Windows device names, which open the device instead of a file whatever the extension
 * (`con.txt` too). A component whose part before the first dot is one of these gets a leading
 * REPLACEMENT, which makes it an ordinary file name again.
 */
const WINDOWS_DEVICE_NAMES = new Set([
  "CON",
  "PRN",
  "AUX",
  "NUL",
  "CONIN$",
  "CONOUT$",
  ...["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3"].flatMap((n) => [`COM${n}`, `LPT${n}`]),
]);

function isWindowsDeviceName(text: string): boolean {
  const dot = text.indexOf(".");
  const base = (dot === -1 ? text : text.slice(0, dot)).trimEnd();
  return WINDOWS_DEVICE_NAMES.has(base.toUpperCase());
}

/**
 * Makes one path component (or a torrent name) from a torrent safe to create under a directory,
 * replacing instead of refusing, as libtorrent and Transmission do:
 * 1. bytes are decoded as UTF-8, invalid sequences becoming U+FFFD (a JS string's lone
 *    surrogates too), so the result is valid UTF-8;
 * 2. every UNSAFE_CHARACTERS match becomes `_`;
 * 3. trailing dots and spaces are removed, which Windows would do silently, so `a.` and `a` do
 *    not become one file there and `.. ` cannot act as `..`;
 * 4. nothing left (the component was empty, `.`, `..`, or only dots and spaces): undefined, and
 *    the caller drops the component, so it can neither climb out nor stay in place;
 * 5. a Windows device name (`CON`, `nul.txt`) gets a leading `_`;
 * 6. over 255 UTF-8 bytes, the stem is cut at a code point boundary and the extension kept.
 * Joining the results under a directory never leaves that directory.
 */
export function sanitizePathComponent(raw: Uint8Array | string): string | undefined {
  const decoded = typeof raw === "string" ? utf8Lenient.decode(utf8Encoder.encode(raw)) : utf8Lenient.decode(raw);
  const text = stripTrailingDotsAndSpaces(decoded.replace(UNSAFE_CHARACTERS, REPLACEMENT));
  if (text === "") return undefined;
  return shortenComponent(isWindowsDeviceName(text) ? REPLACEMENT + text : text);
}
