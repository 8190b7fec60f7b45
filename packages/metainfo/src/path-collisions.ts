import { fail, quote } from "./fields.js";
import type { TorrentFile } from "./types.js";

/** A directory tree of the torrent's files, one node per path component. */
interface Node {
  children: Map<string, Node> | undefined;
  /** The index of the file whose path ends here. */
  file: number | undefined;
}

/**
 * Refuses torrents where two files land on the same path, or one file's path is a directory of
 * another (`a` and `a/b`): writing both would lose one file's bytes. A tree keeps this linear in
 * the number of path components, however deep the paths. Pad files are never written, so they
 * take no part (hybrid torrents repeat `.pad/<size>` paths).
 */
export function checkPathCollisions(files: readonly TorrentFile[]): void {
  const root: Node = { children: undefined, file: undefined };
  for (const file of files) {
    if (file.padding) continue;
    let node = root;
    for (let i = 0; i < file.path.length; i++) {
      if (node.file !== undefined) {
        const dir = quote(file.path.slice(0, i).join("/"));
        collision(file, `lies inside ${dir}, which is info.files[${node.file}]`);
      }
      node.children ??= new Map();
      const component = file.path[i]!;
      let next = node.children.get(component);
      if (next === undefined) {
        next = { children: undefined, file: undefined };
        node.children.set(component, next);
      }
      node = next;
    }
    if (node.file !== undefined) collision(file, `is also the path of info.files[${node.file}]`);
    if (node.children !== undefined) collision(file, "is also a directory of other files");
    node.file = file.index;
  }
}

// Messages are built only on failure: this runs once per file of torrents with a million files.
function collision(file: TorrentFile, problem: string): never {
  fail("DUPLICATE_PATH", `info.files[${file.index}].path`, `${quote(file.path.join("/"))} ${problem}`);
}
