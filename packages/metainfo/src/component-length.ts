/**
 * Longest path component written, in UTF-8 bytes. 255 bytes is NAME_MAX on ext4, XFS, Btrfs and
 * ZFS; NTFS, exFAT and APFS allow 255 UTF-16 units or characters, and a UTF-8 encoding is never
 * shorter than either, so a component within 255 bytes fits all of them.
 */
export const MAX_COMPONENT_BYTES = 255;

/**
 * Longest extension kept when a component is cut or renamed, dot included. Common extensions
 * (`.mkv`, `.flac`, `.torrent`, `.webmanifest`) are far shorter; a longer "extension" is more
 * likely part of the name, and keeping it whole would leave little of the stem.
 */
const MAX_EXTENSION_BYTES = 16;

/** What an unsafe character becomes; also the name of a file whose path sanitises to nothing. */
export const REPLACEMENT = "_";

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

/** The longest prefix of `text` that is whole code points and at most `maxBytes` in UTF-8. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const codePoint of text) {
    const size = utf8Length(codePoint);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += codePoint.length;
  }
  return text.slice(0, end);
}

/**
 * Removes the dots and spaces a component must not end with: Windows strips them from names, so
 * they are never written. A scan from the end rather than `/[. ]+$/`, which backtracks in
 * quadratic time over a long run of dots and spaces followed by anything else, and a component
 * from a torrent can be megabytes long.
 */
export function stripTrailingDotsAndSpaces(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === "." || text[end - 1] === " ")) end -= 1;
  return text.slice(0, end);
}

/**
 * Splits a component into stem and extension (`.mkv`), the extension starting at the last dot.
 * A leading dot (`.hidden`) starts no extension, and a suffix over MAX_EXTENSION_BYTES is not
 * treated as one; either way the extension is empty.
 */
export function splitExtension(name: string): [stem: string, extension: string] {
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return [name, ""];
  const extension = name.slice(dot);
  if (utf8Length(extension) > MAX_EXTENSION_BYTES) return [name, ""];
  return [name.slice(0, dot), extension];
}

/**
 * `stem + suffix`, with the stem cut (at a code point boundary) so that the whole fits in
 * MAX_COMPONENT_BYTES. The suffix (an extension) is kept whole. A cut with nothing after it can
 * leave trailing dots or spaces, which are removed again.
 */
export function fitComponent(stem: string, suffix: string): string {
  const room = MAX_COMPONENT_BYTES - utf8Length(suffix);
  if (utf8Length(stem) <= room) return stem + suffix;
  const cut = truncateUtf8(stem, room);
  if (suffix !== "") return cut + suffix;
  // Only a 255-byte run of dots and spaces could leave nothing; it still needs a name.
  return stripTrailingDotsAndSpaces(cut) || REPLACEMENT;
}

/** Cuts a component to MAX_COMPONENT_BYTES, keeping its extension where there is one. */
export function shortenComponent(name: string): string {
  if (utf8Length(name) <= MAX_COMPONENT_BYTES) return name;
  const [stem, extension] = splitExtension(name);
  return fitComponent(stem, extension);
}
