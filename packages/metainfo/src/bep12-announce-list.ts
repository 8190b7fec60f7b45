import type { BDict } from "@shoal/bencode";
import { urlString } from "./url-string.js";

/**
 * BEP 12 tiers from `announce-list`, cleaned: entries that are not usable URL strings are
 * dropped, as are empty tiers, and a URL seen before (in any tier) is not repeated. When no
 * usable tier remains, the single `announce` URL becomes the only tier, as BEP 12 prescribes
 * for clients that find no announce-list.
 */
export function parseAnnounceList(root: BDict, announce: string | undefined): string[][] {
  const tiers: string[][] = [];
  const raw = root.get("announce-list");
  if (Array.isArray(raw)) {
    const seen = new Set<string>();
    for (const tier of raw) {
      if (!Array.isArray(tier)) continue;
      const urls: string[] = [];
      for (const entry of tier) {
        const url = urlString(entry);
        if (url === undefined || seen.has(url)) continue;
        seen.add(url);
        urls.push(url);
      }
      if (urls.length > 0) tiers.push(urls);
    }
  }
  if (tiers.length === 0 && announce !== undefined) tiers.push([announce]);
  return tiers;
}
