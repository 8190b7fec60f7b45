import { readFile } from "node:fs/promises";
import type { TorrentSource } from "@shoal/coordination";
import { CliError } from "./cli-error.js";

/** A command-line source (a path or an http(s) URL) as a job's torrent source. */
export async function torrentSourceOf(source: string): Promise<TorrentSource> {
  if (/^magnet:/i.test(source)) {
    throw new CliError("magnet links are not supported yet: pass a .torrent file or an http(s) URL of one", 2);
  }
  if (/^https?:\/\//i.test(source)) return { kind: "url", url: source };
  try {
    return { kind: "torrent", base64: (await readFile(source)).toString("base64") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read torrent file ${source}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`, 2);
  }
}
