// The benchmark payload: generated once per (size, layout, seed) and kept in a cache directory,
// because writing and hashing a GiB takes longer than downloading it.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makePayload } from "../../packages/testkit/dist/index.js";

/** Bumped whenever the layout below changes, so an old cache entry is never mistaken for a new one. */
const LAYOUT_VERSION = 1;
/** Files per directory level of a multi-file payload: a few levels of nesting, not one flat list. */
const FILES_PER_DIR = 8;
const DIRS_PER_PARENT = 4;

/**
 * Returns `{ dataDir, name, files: [{ path, size, sha256 }], totalBytes, reused }`, where the
 * payload root is `dataDir/name` and each path starts with `name`. An entry is complete only once
 * its manifest exists; a half-written one (an interrupted run) is rebuilt.
 */
export async function ensurePayload(opts, onCleanup, log) {
  const spec = {
    v: LAYOUT_VERSION,
    size: opts.sizeBytes,
    files: opts.files,
    minFile: opts.files > 1 ? opts.minFileBytes : 0,
    maxFile: opts.files > 1 ? opts.maxFileBytes : 0,
    // Absent unless given, so payloads cached before the option existed keep their keys.
    ...(opts.dirs !== undefined ? { dirs: opts.dirs } : {}),
    seed: opts.payloadSeed,
  };
  const key = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
  const entry = join(opts.cacheDir, key);
  const manifestPath = join(entry, "manifest.json");

  const cached = await readManifest(manifestPath);
  if (cached !== undefined && (await filesIntact(join(entry, "data"), cached.files))) {
    log(`payload: reusing ${entry}`);
    return { ...cached, dataDir: join(entry, "data"), reused: true };
  }

  await mkdir(opts.cacheDir, { recursive: true });
  const tmp = `${entry}.tmp-${process.pid}`;
  const removeTmp = () => rm(tmp, { recursive: true, force: true });
  const undo = onCleanup(removeTmp);
  await removeTmp();
  const name = opts.files > 1 ? "payload" : "payload.bin";
  log(`payload: writing ${opts.sizeBytes} bytes in ${opts.files} file(s) to ${entry}`);
  const made = await makePayload(join(tmp, "data"), {
    name,
    seed: opts.payloadSeed,
    ...(opts.files > 1 ? { files: planFiles(opts) } : { size: opts.sizeBytes }),
  });
  const manifest = { spec, name, totalBytes: made.totalBytes, files: made.files };
  await writeFile(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 1)}\n`);
  await rm(entry, { recursive: true, force: true });
  await rename(tmp, entry);
  undo();
  return { ...manifest, dataDir: join(entry, "data"), reused: false };
}

async function readManifest(path) {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** A cheap check (sizes only) that nobody truncated or removed a cached file. */
async function filesIntact(dataDir, files) {
  try {
    for (const f of files) {
      if ((await stat(join(dataDir, f.path))).size !== f.size) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * File sizes drawn log-uniformly from [minFile, maxFile] (many small files, a few large ones, as
 * in real multi-file torrents), then scaled so they add up to the payload size exactly. The
 * draws come from SHA-256 of the payload seed, so the same options give the same layout.
 */
export function planFiles(opts) {
  const { files: n, sizeBytes: total, minFileBytes: lo, maxFileBytes: hi, payloadSeed } = opts;
  const weights = [];
  for (let i = 0; i < n; i++) {
    const u = createHash("sha256").update(`${payloadSeed}:file:${i}`).digest().readUIntBE(0, 6) / 2 ** 48;
    weights.push(lo * Math.exp(u * Math.log(hi / lo)));
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((w * total) / sum)));
  // Rounding leaves a small difference; the largest file absorbs it (it stays positive because
  // every other file got at most its proportional share).
  let largest = 0;
  sizes.forEach((s, i) => {
    if (s > sizes[largest]) largest = i;
  });
  sizes[largest] += total - sizes.reduce((a, b) => a + b, 0);
  if (sizes[largest] < 1) throw new Error(`cannot split ${total} bytes into ${n} non-empty files`);
  return sizes.map((size, i) => ({ path: filePath(i, n, opts.dirs), size }));
}

/**
 * "d1/d3/file-00042.bin": directories numbered from 1 form a tree with DIRS_PER_PARENT-way
 * fan-out (the parent of directory k is (k - 1) / DIRS_PER_PARENT, 0 being the payload root).
 * Without `dirs`, file i lives in directory i / FILES_PER_DIR, so the root holds the first
 * FILES_PER_DIR files; with `dirs`, the files are spread evenly over directories 1..dirs, so the
 * payload has exactly `dirs` directories below its root, each holding about n / dirs files.
 */
function filePath(i, n, dirs) {
  const width = String(n - 1).length;
  const parts = [];
  const first = dirs === undefined ? Math.floor(i / FILES_PER_DIR) : 1 + Math.floor((i * dirs) / n);
  for (let dir = first; dir > 0; dir = Math.floor((dir - 1) / DIRS_PER_PARENT)) {
    parts.unshift(`d${(dir - 1) % DIRS_PER_PARENT}`);
  }
  return [...parts, `file-${String(i).padStart(width, "0")}.bin`].join("/");
}
