import { resolve, sep } from "node:path";
import { StorageError, type TorrentLayout } from "@shoal/coordination";

/** Where a torrent's files live under a root directory. */
export interface TreePaths {
  /** The root, made absolute. */
  readonly base: string;
  /** `<root>/<name>`: a single-file torrent's file, or the directory of a multi-file torrent. */
  readonly top: string;
  /** Each file's absolute path, by index in `layout.files` (padding files included). */
  readonly paths: readonly string[];
}

/**
 * The paths of a torrent's files under `root`: `<root>/<name>` for a single-file torrent,
 * `<root>/<name>/<path>` otherwise. The store writes there and the tree reader reads there, so
 * both take them from here. Metainfo sanitises every component already; this is the last line
 * of defence: an empty path is a single-file torrent's `<root>/<name>` itself, and any other
 * path must land strictly below that directory, never on it (`a/..`) or beside it.
 */
export function treePaths(root: string, layout: TorrentLayout, op: string): TreePaths {
  const base = resolve(root);
  const top = resolve(base, layout.name);
  if (!top.startsWith(base + sep)) {
    throw new StorageError("IO", `torrent name ${JSON.stringify(layout.name)} leaves the destination ${base}`, {
      context: { op, name: layout.name },
    });
  }
  const paths = layout.files.map((f) => {
    const p = resolve(top, ...f.path);
    const inside = f.path.length === 0 ? p === top : p.startsWith(top + sep);
    if (!inside) {
      throw new StorageError("IO", `file path ${f.path.join("/")} leaves the destination ${base}`, {
        context: { op, path: f.path.join("/") },
      });
    }
    return p;
  });
  return { base, top, paths };
}
