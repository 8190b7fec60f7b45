import { readFile } from "node:fs/promises";
import type { TorrentSource } from "@shoal/coordination";
import { isMagnetLink, parseMagnet } from "@shoal/metainfo";
import { ConfigError } from "@shoal/service-kit";

/**
 * A torrent named by URL as a job's source: an http(s) URL of a .torrent, which the cluster
 * fetches, or a magnet link, checked here (a missing or malformed info hash is refused before
 * anything is queued). Anything else is refused with one line (a ConfigError, `problem: "input"`).
 */
export function torrentUrlSource(text: string): TorrentSource {
  const url = text.trim();
  if (isMagnetLink(url)) {
    try {
      parseMagnet(url);
    } catch (err) {
      throw new ConfigError("INVALID_CONFIG", (err as Error).message, { context: { problem: "input" } });
    }
    return { kind: "magnet", uri: url };
  }
  if (!/^https?:\/\/[^/\s]/i.test(url)) {
    throw new ConfigError("INVALID_CONFIG", `"${url}" is not an http(s) URL of a .torrent file`, { context: { problem: "input" } });
  }
  return { kind: "url", url };
}

/** A command-line source (a path or an http(s) URL) as a job's torrent source. */
export async function torrentSourceOf(source: string): Promise<TorrentSource> {
  if (/^magnet:/i.test(source) || /^https?:\/\//i.test(source)) return torrentUrlSource(source);
  try {
    return { kind: "torrent", base64: (await readFile(source)).toString("base64") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError("INVALID_CONFIG", `cannot read torrent file ${source}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`, {
      context: { problem: "input" },
    });
  }
}
