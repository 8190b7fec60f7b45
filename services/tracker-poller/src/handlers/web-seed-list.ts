import type { TorrentJobOptions } from "@shoal/coordination";
import { isWebSeedUrl, MAX_WEB_SEEDS } from "@shoal/metainfo";

/** Where a job's web seeds may come from; each source is one list, in the order given. */
export interface WebSeedSources {
  /** The torrent's `url-list` (already filtered by the metainfo parser). */
  readonly torrent: readonly string[];
  /** A magnet link's `ws=` parameters. */
  readonly magnet?: readonly string[];
}

/**
 * The web seeds a job uses: the torrent's own (and a magnet's) unless the job turned them off,
 * then the ones it added, each usable URL once, at most `MAX_WEB_SEEDS`. Added URLs were checked
 * by the submitter; they are checked again here because a job may come from any producer.
 */
export function resolveWebSeeds(sources: WebSeedSources, options: TorrentJobOptions["webSeeds"]): string[] {
  const fromTorrent = options?.fromTorrent !== false;
  const all = [...(fromTorrent ? [...sources.torrent, ...(sources.magnet ?? [])] : []), ...(options?.add ?? [])];
  const out = new Set<string>();
  for (const url of all) {
    if (out.size >= MAX_WEB_SEEDS) break;
    if (isWebSeedUrl(url)) out.add(url);
  }
  return [...out];
}
