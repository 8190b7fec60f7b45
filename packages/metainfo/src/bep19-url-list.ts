import type { BDict } from "@shoal/bencode";
import { urlString } from "./url-string.js";

/**
 * BEP 19 web seeds from `url-list`, which tools write either as one string or as a list of
 * strings. Unusable entries are dropped and duplicates removed.
 */
export function parseUrlList(root: BDict): string[] {
  const raw = root.get("url-list");
  const entries = Array.isArray(raw) ? raw : [raw];
  const seen = new Set<string>();
  for (const entry of entries) {
    const url = urlString(entry);
    if (url !== undefined) seen.add(url);
  }
  // A Set keeps first-seen order, so the list keeps the torrent's order minus repeats.
  return [...seen];
}
