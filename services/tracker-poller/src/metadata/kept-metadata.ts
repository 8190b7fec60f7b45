import type { MetadataKeeper } from "@shoal/coordination";
import { parseMetainfo } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";

/** Metadata an earlier run kept at the destination, once it passed the checks below. */
export interface KeptMetadata {
  /** The info dict exactly as kept: its SHA-1 is the info hash. */
  readonly infoBytes: Uint8Array;
  readonly announceTiers: readonly (readonly string[])[];
}

/**
 * The metadata kept for `infoHashHex`, trusted no more than a peer's: the file must parse as a
 * torrent within the metadata limit and its info dict must hash to the link's info hash. A file
 * that fails (damaged, cut short, another torrent's, unreadable) is only a warning: the caller
 * fetches the metadata from peers again and keeps that in its place.
 */
export async function loadKeptMetadata(keeper: MetadataKeeper, infoHashHex: string, maxBytes: number, logger: Logger): Promise<KeptMetadata | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    // The .torrent around the info dict holds trackers too: room for them past the dict's limit.
    bytes = await keeper.load(infoHashHex, maxBytes + 1024 * 1024);
  } catch (err) {
    logger.warn({ op: "magnet.loadKept", err: (err as Error).message }, `cannot read the metadata kept from an earlier run (${(err as Error).message}); fetching it from peers`);
    return undefined;
  }
  if (bytes === undefined) return undefined;
  let problem: string;
  try {
    const meta = parseMetainfo(bytes);
    if (meta.infoHashHex === infoHashHex && meta.infoBytes.length <= maxBytes) return { infoBytes: meta.infoBytes, announceTiers: meta.announceList };
    problem = meta.infoHashHex !== infoHashHex ? `its info dict hashes to ${meta.infoHashHex}` : `its info dict is over the limit of ${maxBytes} bytes`;
  } catch (err) {
    problem = (err as Error).message;
  }
  logger.warn({ op: "magnet.loadKept" }, `the metadata kept from an earlier run is not this torrent's (${problem}); fetching it from peers`);
  return undefined;
}

/**
 * Keeps fetched, verified metadata for the next run. A failure (a full or read-only disk) costs
 * only a fetch next time, so it is a warning and the download goes on.
 */
export async function keepMetadata(keeper: MetadataKeeper, infoHashHex: string, torrent: Uint8Array, logger: Logger): Promise<void> {
  try {
    await keeper.keep(infoHashHex, torrent);
    logger.debug({ op: "magnet.keep", bytes: torrent.length }, "metadata kept for the next run");
  } catch (err) {
    logger.warn({ op: "magnet.keep", err: (err as Error).message }, `cannot keep the metadata for the next run: ${(err as Error).message}`);
  }
}
