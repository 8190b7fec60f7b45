import type { BValue } from "@shoal/bencode";

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A tracker or web-seed URL from outside the info dict, or undefined when the entry is unusable
 * (not a byte string, not UTF-8, empty). These fields only steer where we look for peers, so a
 * bad entry is dropped rather than failing the whole torrent. Surrounding whitespace, which some
 * tools leave in, is trimmed; whether the scheme is supported is up to the tracker client.
 */
export function urlString(value: BValue | undefined): string | undefined {
  if (!(value instanceof Uint8Array)) return undefined;
  let text: string;
  try {
    text = utf8Strict.decode(value);
  } catch {
    return undefined;
  }
  text = text.trim();
  return text === "" ? undefined : text;
}
