import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestkitError } from "./testkit-error.js";

const PACKAGE_NAME = "@shoal/testkit";

let cached: string | undefined;

/**
 * The directory holding this package's package.json, found by walking up from this module, so
 * the python helpers in py/ are found both from src/ (vitest) and from dist/ (built).
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string };
      if (pkg.name === PACKAGE_NAME) return (cached = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new TestkitError("MISSING_BINARY", `cannot find the ${PACKAGE_NAME} package root (and py/) above ${import.meta.url}`);
    }
    dir = parent;
  }
}

/** Absolute path of a helper script in py/. */
export function pyScript(name: string): string {
  return join(packageRoot(), "py", name);
}
