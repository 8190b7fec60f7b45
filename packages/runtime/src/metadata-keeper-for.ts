import type { MetadataKeeper } from "@shoal/coordination";
import { FsMetadataKeeper } from "@shoal/store-fs";
import type { Destination } from "./destination.js";

/**
 * Where `shoal get` keeps a magnet link's metadata for the next run: the output directory. A
 * bucket destination keeps none (a cluster's catalog holds it; embedded mode into a bucket
 * fetches it again), since writing a file next to the objects would put a stray key in the
 * user's prefix.
 */
export function metadataKeeperFor(destination: Destination): MetadataKeeper | undefined {
  return destination.kind === "dir" ? new FsMetadataKeeper(destination.path) : undefined;
}
