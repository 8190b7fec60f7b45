import { MAX_COMPONENT_BYTES, splitExtension, truncateUtf8, utf8Length } from "./component-length.js";
import type { TorrentFile } from "./types.js";

/**
 * Bytes kept free for a rename's `.` and number: ten digits outnumber the files of any torrent
 * `maxFiles` lets through, so `<stem>.<n><ext>` always fits in MAX_COMPONENT_BYTES.
 */
const RENAME_SUFFIX_BYTES = 11;

/** One directory level of the torrent's tree, keyed by folded name (see `fold`). */
interface Node {
  children: Map<string, Node> | undefined;
  /** Some file's path passes through here, so it must stay a directory. */
  directory: boolean;
  /** A file's path ends here. */
  claimed: boolean;
  /**
   * Per family of rename candidates (the cut stem and the extension), the next number to try,
   * so that renames never retry a number already tried: see resolvePathCollisions.
   */
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
 * `<stem>.1<ext>` (then `.2`, ...), as libtorrent renames duplicates, the stem cut where needed
 * to leave room for the number within 255 bytes. Directories keep their
 * names, and a file whose path is unique keeps it even when a rename could have taken it, so the
 * result depends only on the list: every service parses the same info dict on its own and must
 * reach the same paths. Pad files are never written and take no part (hybrid torrents repeat
 * `.pad/<size>`). Every path has at least one component (a multi-file torrent's files).
 *
 * Linear in the number of path components, even for hostile lists. The stem is cut to the same
 * length whatever the number, so each candidate name belongs to exactly one family (cut stem and
 * extension), and each family's counter only moves forward: every number is tried once, and a
 * candidate is skipped only when a file took that name, which it can do for one family alone.
 * Cutting only as far as each number needs would let thousands of long names that differ near
 * their end share candidates and retry each other's numbers, which is quadratic.
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
    const [stem, extension] = splitExtension(file.path[file.path.length - 1]!);
    const cutStem = truncateUtf8(stem, MAX_COMPONENT_BYTES - RENAME_SUFFIX_BYTES - utf8Length(extension));
    const family = `${fold(cutStem)}\0${fold(extension)}`;
    parent.nextSuffix ??= new Map();
    let n = parent.nextSuffix.get(family) ?? 1;
    let candidate: string;
    do {
      candidate = `${cutStem}.${n}${extension}`;
      n += 1;
    } while (parent.children!.has(fold(candidate)));
    parent.nextSuffix.set(family, n);
    child(parent, fold(candidate)).claimed = true;
    file.path = [...file.path.slice(0, -1), candidate];
  }
}
