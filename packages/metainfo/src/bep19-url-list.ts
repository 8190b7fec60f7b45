import type { BDict } from "@shoal/bencode";
import { urlString } from "./url-string.js";

/**
 * At most this many web seeds are kept from one torrent. Real torrents list a handful of
 * mirrors (archive.org's list a few); a list of thousands would only be a way to make every
 * worker open connections to hosts of the torrent author's choosing.
 */
export const MAX_WEB_SEEDS = 64;
/**
 * A web seed URL longer than this is dropped: browsers and servers commonly refuse URLs past
 * 8 KiB, and a mirror's base URL is far shorter (file paths are appended to it).
 */
export const MAX_WEB_SEED_URL_BYTES = 4096;

/**
 * BEP 19 web seeds from `url-list`, which tools write either as one string or as a list of
 * strings. Only absolute http(s) URLs are kept (ftp and other schemes cannot be fetched with
 * byte ranges here); unusable, oversized and repeated entries are dropped, and the list stops at
 * `MAX_WEB_SEEDS`. Never throws: like the trackers, web seeds only steer where bytes come from.
 */
export function parseUrlList(root: BDict): string[] {
  const raw = root.get("url-list");
  const entries = Array.isArray(raw) ? raw : [raw];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.size >= MAX_WEB_SEEDS) break;
    const url = urlString(entry);
    if (url !== undefined && isWebSeedUrl(url)) seen.add(url);
  }
  // A Set keeps first-seen order, so the list keeps the torrent's order minus repeats.
  return [...seen];
}

/** An absolute http(s) URL with a host, within `MAX_WEB_SEED_URL_BYTES`: usable as a web seed. */
export function isWebSeedUrl(url: string): boolean {
  if (Buffer.byteLength(url) > MAX_WEB_SEED_URL_BYTES) return false;
  if (!/^https?:\/\//i.test(url)) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "" && parsed.username === "" && parsed.password === "";
  } catch {
    return false;
  }
}
