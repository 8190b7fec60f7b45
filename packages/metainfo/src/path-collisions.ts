import { fitComponent, splitExtension } from "./component-length.js";
import type { TorrentFile } from "./types.js";

/** One directory level of the torrent's tree, keyed by folded name (see `fold`). */
interface Node {
  children: Map<string, Node> | undefined;
  /** Some file's path passes through here, so it must stay a directory. */
  directory: boolean;
  /** A file's path ends here. */
  claimed: boolean;
  /** Per folded file name, the next rename suffix to try: a million copies cost linear time. */
  nextSuffix: Map<string, number> | undefined;
}

/**
 * The key two names collide under: case-insensitive and normalisation-insensitive, because
 * Windows, macOS and exFAT treat `README` and `readme` (or a precomposed and a decomposed `é`)
 * as one file, and two files on one path would overwrite each other's bytes. libtorrent also
 * compares case-insensitively on every platform.
 */
function fold(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

function child(parent: Node, key: string): Node {
  parent.children ??= new Map();
  let node = parent.children.get(key);
  if (node === undefined) {
    node = { children: undefined, directory: false, claimed: false, nextSuffix: undefined };
    parent.children.set(key, node);
  }
  return node;
}

/**
 * Renames files whose sanitised paths collide, so each file has a path of its own: a file on the
 * same path as an earlier file, or on a path that is another file's directory, becomes
 * `<stem>.1<ext>` (then `.2`, ...), as libtorrent renames duplicates. Directories keep their
 * names, and a file whose path is unique keeps it even when a rename could have taken it, so the
 * result depends only on the list: every service parses the same info dict on its own and must
 * reach the same paths. Pad files are never written and take no part (hybrid torrents repeat
 * `.pad/<size>`). Every path has at least one component (a multi-file torrent's files).
 * Linear in the number of path components.
 */
export function resolvePathCollisions(files: readonly TorrentFile[]): void {
  const root: Node = { children: undefined, directory: true, claimed: false, nextSuffix: undefined };
  const written = files.filter((f) => !f.padding);

  // Directories first, so that a file never takes a name some other file's path runs through.
  const parents = written.map((file) => {
    let node = root;
    for (let i = 0; i < file.path.length - 1; i++) {
      node = child(node, fold(file.path[i]!));
      node.directory = true;
    }
    return node;
  });

  // Then each path's first file claims it; the rest are renamed below, in torrent order.
  const renames: number[] = [];
  written.forEach((file, i) => {
    const node = child(parents[i]!, fold(file.path[file.path.length - 1]!));
    if (node.directory || node.claimed) renames.push(i);
    else node.claimed = true;
  });

  for (const i of renames) {
    const file = written[i]!;
    const parent = parents[i]!;
    const leaf = file.path[file.path.length - 1]!;
    const leafKey = fold(leaf);
    const [stem, extension] = splitExtension(leaf);
    parent.nextSuffix ??= new Map();
    let n = parent.nextSuffix.get(leafKey) ?? 1;
    let candidate: string;
    do {
      candidate = fitComponent(stem, `.${n}${extension}`);
      n += 1;
    } while (parent.children!.has(fold(candidate)));
    parent.nextSuffix.set(leafKey, n);
    child(parent, fold(candidate)).claimed = true;
    file.path = [...file.path.slice(0, -1), candidate];
  }
}
