import { StorageError, type LayoutFile, type TorrentLayout } from "@shoal/coordination";

/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/** User metadata names (sent as `x-amz-meta-<name>`): the torrent and the file's path in it. */
export const META_INFO_HASH = "shoal-info-hash";
export const META_PATH = "shoal-path";

/** `<prefix>/<name>`: a single-file torrent's object, and the folder of a multi-file torrent's objects. */
export function torrentRootKey(prefix: string, layout: TorrentLayout): string {
  return prefix === "" ? layout.name : `${prefix}/${layout.name}`;
}

/**
 * The object key of a file: `<prefix>/<name>` for a single-file torrent (its one file has an
 * empty path), `<prefix>/<name>/<path>` otherwise. Names and paths come sanitised from metainfo;
 * S3 keys take any UTF-8, so nothing more is escaped. A key over S3's 1024 bytes is refused here,
 * before any upload starts.
 */
export function objectKey(prefix: string, layout: TorrentLayout, file: LayoutFile): string {
  const root = torrentRootKey(prefix, layout);
  const key = file.path.length === 0 ? root : `${root}/${file.path.join("/")}`;
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new StorageError("IO", `object key for ${file.path.join("/") || layout.name} is over S3's ${MAX_KEY_BYTES} bytes: ${key.slice(0, 80)}...`, {
      context: { op: "s3.openTorrent", infoHash: layout.infoHash, key: key.slice(0, 200) },
      retryable: false,
    });
  }
  return key;
}

/**
 * The metadata every object carries. HTTP headers are ASCII, so the path (`<name>/<path>`, or the
 * name of a single-file torrent) is percent-encoded per component, slashes kept.
 */
export function objectMetadata(layout: TorrentLayout, file: LayoutFile): Record<string, string> {
  const path = [layout.name, ...file.path].map(encodeURIComponent).join("/");
  return { [`x-amz-meta-${META_INFO_HASH}`]: layout.infoHash, [`x-amz-meta-${META_PATH}`]: path, "Content-Type": "application/octet-stream" };
}
