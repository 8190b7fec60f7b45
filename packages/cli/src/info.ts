import { CliError } from "./cli-error.js";
import { parseMetainfo, relativeFilePath, type Metainfo } from "@shoal/metainfo";
import { pollerConfigSchema, resolveSource } from "@shoal/tracker-poller";
import type { InfoArgs } from "./args.js";
import { formatBytes } from "./progress.js";
import { torrentSourceOf } from "@shoal/runtime/commands";

/** What `shoal info --json` prints: a stable, documented shape. */
export interface TorrentDescription {
  readonly name: string;
  readonly infoHash: string;
  readonly totalBytes: number;
  readonly pieceLength: number;
  readonly pieces: number;
  readonly private: boolean;
  /** BEP 12 tiers, each a list of announce URLs. */
  readonly trackers: readonly (readonly string[])[];
  readonly webSeeds: readonly string[];
  /** Files without BEP 47 padding, numbered from 0 as `--select` takes them. */
  readonly files: readonly { readonly index: number; readonly path: string; readonly length: number }[];
  readonly comment?: string;
  readonly createdBy?: string;
  readonly creationDate?: string;
}

export function describeTorrent(meta: Metainfo): TorrentDescription {
  return {
    name: meta.name,
    infoHash: meta.infoHashHex,
    totalBytes: meta.totalLength,
    pieceLength: meta.pieceLength,
    pieces: meta.pieceCount,
    private: meta.private,
    trackers: meta.announceList,
    webSeeds: meta.urlList,
    files: meta.files.filter((f) => !f.padding).map((f, index) => ({ index, path: relativeFilePath(meta, f), length: f.length })),
    ...(meta.comment !== undefined ? { comment: meta.comment } : {}),
    ...(meta.createdBy !== undefined ? { createdBy: meta.createdBy } : {}),
    ...(meta.creationDate !== undefined ? { creationDate: new Date(meta.creationDate * 1000).toISOString() } : {}),
  };
}

export function formatDescription(d: TorrentDescription): string {
  const lines = [
    `name:          ${d.name}`,
    `info hash:     ${d.infoHash}`,
    `size:          ${formatBytes(d.totalBytes)} (${d.totalBytes} bytes)`,
    `pieces:        ${d.pieces} of ${formatBytes(d.pieceLength)}`,
    `private:       ${d.private ? "yes" : "no"}`,
  ];
  if (d.createdBy !== undefined) lines.push(`created by:    ${d.createdBy}`);
  if (d.creationDate !== undefined) lines.push(`created:       ${d.creationDate}`);
  if (d.comment !== undefined) lines.push(`comment:       ${d.comment}`);
  lines.push(`trackers:${d.trackers.length === 0 ? "      none" : ""}`);
  d.trackers.forEach((tier, t) => tier.forEach((url) => lines.push(`  tier ${t}: ${url}`)));
  lines.push(`web seeds:${d.webSeeds.length === 0 ? "     none" : ""}`);
  for (const url of d.webSeeds) lines.push(`  ${url}`);
  lines.push(`files (${d.files.length}):`);
  const width = String(Math.max(0, d.files.length - 1)).length;
  for (const f of d.files) lines.push(`  ${String(f.index).padStart(width)}  ${formatBytes(f.length).padStart(10)}  ${f.path}`);
  return lines.join("\n") + "\n";
}

/** `shoal info`: reads the torrent (file or URL) and prints what it holds. */
export async function info(args: InfoArgs, out: NodeJS.WritableStream): Promise<void> {
  const source = await torrentSourceOf(args.source);
  if (source.kind === "magnet") throw new CliError("info reads a .torrent file or URL; a magnet link holds only the info hash (shoal get fetches the rest from peers)", 2);
  const config = pollerConfigSchema.parse({});
  const bytes = await resolveSource(source, config.maxTorrentMiB * 1024 * 1024, AbortSignal.timeout(60_000));
  const d = describeTorrent(parseMetainfo(bytes));
  out.write(args.json ? JSON.stringify(d) + "\n" : formatDescription(d));
}
