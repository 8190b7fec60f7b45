#!/usr/bin/env node
// Lays out what the container image runs, in DEST: the root manifest and lockfile, every
// workspace's package.json, the files each workspace the `shoal` command needs ships (its
// package.json `files`: dist, Lua scripts, the bin), and production dependencies only
// (`npm ci --omit=dev`). The Dockerfile's build stage runs this and the run-time stage copies
// DEST whole, so test/deploy runs the same script to prove the image's contents start.
//
// usage: node scripts/stage-runtime.mjs DEST   (after `npx tsc -b`; DEST must not exist or be empty)
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const dest = process.argv[2];
if (!dest || process.argv.length > 3) fail("usage: node scripts/stage-runtime.mjs DEST");
const out = resolve(dest);
if (existsSync(out) && readdirSync(out).length > 0) fail(`${out} is not empty`);

function fail(message) {
  process.stderr.write(`stage-runtime: ${message}\n`);
  process.exit(2);
}

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const rootPkg = readJson(join(root, "package.json"));

// Workspaces by name, from the root's globs (each is "<dir>/*").
const workspaces = new Map();
for (const glob of rootPkg.workspaces) {
  if (!glob.endsWith("/*")) fail(`workspace pattern ${glob} is not of the form dir/*`);
  const dir = glob.slice(0, -2);
  for (const name of readdirSync(join(root, dir))) {
    const manifest = join(root, dir, name, "package.json");
    if (existsSync(manifest)) workspaces.set(readJson(manifest).name, { dir: join(dir, name), pkg: readJson(manifest) });
  }
}

// The CLI and every workspace it depends on, directly or not: the program. Test kits are not
// part of it; only their manifests go in, because npm ci wants every workspace of the lockfile.
const shipped = new Set();
const visit = (name) => {
  const ws = workspaces.get(name);
  if (!ws || shipped.has(name)) return;
  shipped.add(name);
  for (const dep of Object.keys(ws.pkg.dependencies ?? {})) visit(dep);
};
visit("shoal");
if (!shipped.has("shoal")) fail("no workspace named shoal (packages/cli)");

mkdirSync(out, { recursive: true });
for (const file of ["package.json", "package-lock.json"]) cpSync(join(root, file), join(out, file));
for (const [name, { dir, pkg }] of workspaces) {
  mkdirSync(join(out, dir), { recursive: true });
  cpSync(join(root, dir, "package.json"), join(out, dir, "package.json"));
  if (!shipped.has(name)) continue;
  if (!Array.isArray(pkg.files)) fail(`${dir}/package.json has no "files" list: say what the package ships`);
  for (const entry of pkg.files) {
    const from = join(root, dir, entry);
    if (!existsSync(from)) fail(`${dir}/${entry} is missing (run npx tsc -b first)`);
    cpSync(from, join(out, dir, entry), { recursive: true, filter: (src) => !src.endsWith(".tsbuildinfo") });
  }
}

// --ignore-scripts: the root's prepare script is the TypeScript build, which needs dev
// dependencies and has already run; no production dependency needs an install script (the
// optional native msgpack addon comes prebuilt, and is optional).
const npm = spawnSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], {
  cwd: out,
  stdio: "inherit",
});
if (npm.status !== 0) fail(`npm ci --omit=dev failed in ${out} (status ${npm.status ?? npm.signal})`);
process.stdout.write(`stage-runtime: ${shipped.size} workspaces and their production dependencies in ${out}\n`);
