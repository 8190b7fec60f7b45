import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import type { ObjectStore } from "@shoal/coordination";
import { objectStoreContract } from "@shoal/contract-tests";
import { FsObjectStore } from "@shoal/store-fs";

// Each case gets its own temporary directory; teardown removes it.
const roots = new WeakMap<ObjectStore, string>();

objectStoreContract({
  name: "FsObjectStore",
  keepsUnselectedBytes: true,
  setup: async () => {
    const root = await mkdtemp(join(tmpdir(), "shoal-contract-fs-"));
    const store = new FsObjectStore(root);
    roots.set(store, root);
    return store;
  },
  teardown: async (store) => {
    await store.close();
    await rm(roots.get(store)!, { recursive: true, force: true });
  },
  listFiles: async (store, layout) => {
    const top = join(roots.get(store)!, layout.name);
    const out = new Map<string, number>();
    const info = await stat(top).catch(() => undefined);
    if (info?.isFile()) out.set("", info.size);
    if (!info?.isDirectory()) return out;
    for (const entry of await readdir(top, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      out.set(relative(top, path).split(sep).join("/"), (await stat(path)).size);
    }
    return out;
  },
  overwriteFile: (store, layout, path, bytes) => writeFile(join(roots.get(store)!, layout.name, ...path.split("/").filter((c) => c !== "")), bytes),
});
