import { createCipheriv, createHash } from "node:crypto";
import { mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TestkitError } from "./testkit-error.js";

export interface PayloadSpec {
  /** Name of the single file, or of the top directory of a multi-file payload. */
  readonly name: string;
  /** Multi-file payload: paths relative to the top directory, "/"-separated. */
  readonly files?: readonly { readonly path: string; readonly size: number }[];
  /** Single-file payload of this many bytes. */
  readonly size?: number;
  /** Same seed, same bytes (and so the same info hash). */
  readonly seed?: string;
}

export interface PayloadFile {
  /** Relative to the `dir` given to makePayload, so it starts with the payload name. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface Payload {
  /** `dir/name`: the file or the top directory. */
  readonly root: string;
  readonly files: readonly PayloadFile[];
  readonly totalBytes: number;
}

/** Large enough to amortise the write calls, small enough to stay out of the way of the heap. */
const CHUNK_BYTES = 1024 * 1024;
const DEFAULT_SEED = "shoal-testkit";

/**
 * Writes a deterministic pseudo-random payload: one AES-128-CTR keystream (key and IV from
 * SHA-256 of the seed) runs over all files in the order given. Random-looking bytes make a
 * misplaced block visible to every piece hash; the cipher produces them at memory speed.
 */
export async function makePayload(dir: string, spec: PayloadSpec): Promise<Payload> {
  const plan = planFiles(spec);
  const key = createHash("sha256").update(spec.seed ?? DEFAULT_SEED).digest();
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(CHUNK_BYTES);
  const files: PayloadFile[] = [];
  for (const { path, size } of plan) {
    const abs = join(dir, path);
    await mkdir(dirname(abs), { recursive: true });
    const hash = createHash("sha256");
    const fh = await open(abs, "w");
    try {
      for (let left = size; left > 0; ) {
        const n = Math.min(left, CHUNK_BYTES);
        const bytes = cipher.update(zeros.subarray(0, n));
        hash.update(bytes);
        await fh.write(bytes);
        left -= n;
      }
    } finally {
      await fh.close();
    }
    files.push({ path, size, sha256: hash.digest("hex") });
  }
  return { root: join(dir, spec.name), files, totalBytes: plan.reduce((s, f) => s + f.size, 0) };
}

function planFiles(spec: PayloadSpec): { path: string; size: number }[] {
  const bad = (what: string): never => {
    throw new TestkitError("BAD_ARGUMENT", `payload "${spec.name}": ${what}`, { context: { name: spec.name } });
  };
  checkComponent(spec.name, bad);
  if ((spec.files === undefined) === (spec.size === undefined)) bad("give exactly one of files and size");
  const entries = spec.files ?? [{ path: "", size: spec.size ?? 0 }];
  const seen = new Set<string>();
  return entries.map(({ path, size }) => {
    if (!Number.isSafeInteger(size) || size < 0) bad(`size ${size} of "${path}" is not a byte count`);
    if (spec.files === undefined) return { path: spec.name, size };
    path.split("/").forEach((c) => checkComponent(c, bad));
    if (seen.has(path)) bad(`file "${path}" is listed twice`);
    seen.add(path);
    return { path: `${spec.name}/${path}`, size };
  });
}

function checkComponent(c: string, bad: (what: string) => never): void {
  if (c === "" || c === "." || c === ".." || c.includes("/") || c.includes("\0")) bad(`bad path component "${c}"`);
}
