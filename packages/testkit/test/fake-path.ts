import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `fn` with PATH set to a fresh directory holding only the given shell scripts, so a
 * launcher finds a fake program or none at all. PATH is restored afterwards; test files run in
 * separate processes, so no other file sees the change.
 */
export async function withFakePath<T>(scripts: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "testkit-path-"));
  const saved = process.env["PATH"];
  try {
    for (const [name, body] of Object.entries(scripts)) {
      await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(dir, name), 0o755);
    }
    process.env["PATH"] = dir;
    return await fn();
  } finally {
    process.env["PATH"] = saved;
    await rm(dir, { recursive: true, force: true });
  }
}
