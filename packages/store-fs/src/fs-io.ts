/** Small file-system helpers of the filesystem store: errors mapped to StorageError, existence and size checks, bounded concurrency. */
import type { promises as fsp } from "node:fs";
import { stat } from "node:fs/promises";
import { StorageError, type StagedRef } from "@shoal/coordination";

type FileHandle = fsp.FileHandle;

export async function closeQuietly(opened: Promise<FileHandle>): Promise<void> {
  try {
    await (await opened).close();
  } catch {
    // A handle that failed to open has nothing to close.
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

/** The size of the file at `path`, or undefined when there is none. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw storageError("fs.finalize", path, err);
  }
}

/** Runs `fn` on every item with at most `limit` calls in flight; rejects with the first failure. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Failures that doing the same thing again cannot fix. */
const PERMANENT_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR", "EEXIST", "ENAMETOOLONG", "EFBIG"]);

export function stagedKey(ref: StagedRef): string {
  return `${ref.infoHash}/${ref.piece}/${ref.attempt}/${ref.workerId}`;
}

export async function io<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageError(op, path, err);
  }
}

export function storageError(op: string, path: string, err: unknown): StorageError {
  const code = (err as NodeJS.ErrnoException).code;
  return new StorageError(code === "ENOSPC" || code === "EDQUOT" ? "OUT_OF_SPACE" : "IO", `${op} failed on ${path}: ${(err as Error).message}`, {
    context: { op, path, errno: code ?? null },
    retryable: code === undefined || !PERMANENT_ERRNOS.has(code),
    cause: err,
  });
}
