import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineConfig } from "vitest/config";

// Tests import workspace packages from their TypeScript sources, so a test run never depends
// on a stale dist/. Processes spawned by e2e tests run the built output (npm test builds first).
const root = import.meta.dirname;
const alias: Record<string, string> = {};
for (const dir of ["packages", "services"]) {
  for (const name of readdirSync(join(root, dir))) {
    const pkgPath = join(root, dir, name, "package.json");
    if (!existsSync(pkgPath)) continue;
    const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { name: string; exports?: Record<string, { default?: string }> };
    // A subpath export (`@shoal/runtime/commands` -> ./dist/commands.js) from its source too. It
    // goes first: the package's own name matches it as a prefix, and the first match is taken.
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const file = target.default?.match(/^\.\/dist\/(.+)\.js$/)?.[1];
      if (sub !== "." && file) alias[pkg.name + sub.slice(1)] = resolve(root, dir, name, `src/${file}.ts`);
    }
    alias[pkg.name] = resolve(root, dir, name, "src/index.ts");
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["packages/*/test/**/*.test.ts", "services/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
