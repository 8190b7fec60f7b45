import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { StorageError, type MetadataKeeper } from "@shoal/coordination";
import { io, storageError } from "./fs-io.js";

/**
 * A magnet link's metadata kept in the output directory as `<root>/.<infohash>.torrent`, next to
 * the `.<infohash>.parts` file of unselected files' bytes and never inside the torrent's tree, so
 * `shoal get` run again for the same directory needs no peer to tell it what it is downloading.
 * It is written to a temporary name and renamed over the old one, so a reader sees a whole file
 * or the previous one, never a half-written one. It stays after the download: it is what lets a
 * rerun over a finished tree check it without any peer, and it is an ordinary .torrent a user
 * can hand to `shoal info` or another client.
 */
export class FsMetadataKeeper implements MetadataKeeper {
  private readonly base: string;

  constructor(root: string) {
    this.base = resolve(root);
  }

  /** Where the metadata of `infoHash` is kept. */
  pathOf(infoHash: string): string {
    if (!/^[0-9a-f]{40}$/.test(infoHash)) {
      throw new StorageError("IO", `not an info hash: ${JSON.stringify(infoHash)}`, { context: { op: "fs.keepMetadata", infoHash } });
    }
    return resolve(this.base, `.${infoHash}.torrent`);
  }

  async load(infoHash: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const path = this.pathOf(infoHash);
    let handle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw storageError("fs.loadMetadata", path, err);
    }
    try {
      const { size } = await io("fs.loadMetadata", path, () => handle.stat());
      if (size > maxBytes) {
        throw new StorageError("IO", `${path} holds ${size} bytes, more than metadata may (${maxBytes})`, {
          context: { op: "fs.loadMetadata", path, size, maxBytes },
        });
      }
      // Read through the handle whose size was checked: a file swapped in meanwhile is not read.
      const bytes = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await io("fs.loadMetadata", path, () => handle.read(bytes, got, size - got, got));
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return bytes.subarray(0, got);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async keep(infoHash: string, torrent: Uint8Array): Promise<void> {
    const path = this.pathOf(infoHash);
    const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await io("fs.keepMetadata", this.base, () => mkdir(this.base, { recursive: true }));
      await io("fs.keepMetadata", temp, async () => {
        const handle = await open(temp, "wx");
        try {
          await handle.writeFile(torrent);
          // Durable before it replaces the old file: a crash must not leave an empty one behind it.
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
      await io("fs.keepMetadata", path, () => rename(temp, path));
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
  }
}
