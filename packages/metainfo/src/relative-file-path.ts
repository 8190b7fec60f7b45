import type { InfoDict, TorrentFile } from "./types.js";

/**
 * Where a file lands relative to the output directory, joined with "/": `<name>` for a
 * single-file torrent, `<name>/<path...>` otherwise. Every component was sanitised when the
 * torrent was parsed, so the result never leaves the output directory.
 */
export function relativeFilePath(m: InfoDict, file: TorrentFile): string {
  return m.multiFile ? [m.name, ...file.path].join("/") : m.name;
}
