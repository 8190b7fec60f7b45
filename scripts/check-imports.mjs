#!/usr/bin/env node
// Fails on import cycles between workspace packages and on pure packages importing adapters or
// I/O. Pure protocol and domain packages must stay free of sockets, env and infrastructure
// clients so they can be tested alone and reused anywhere.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const PURE = ["@shoal/errors", "@shoal/bencode", "@shoal/dht", "@shoal/metainfo", "@shoal/wire", "@shoal/tracker-proto", "@shoal/coordination", "@shoal/verify"];
const FORBIDDEN_IN_PURE = [/^node:(net|dgram|http|https|tls|child_process|cluster)$/, /^(ioredis|nats|@nats-io\/.*|bullmq|minio|pino)$/];
const ADAPTERS = ["@shoal/store-fs", "@shoal/coordination-redis", "@shoal/bus-nats", "@shoal/store-s3", "@shoal/queue-bullmq"];
// Packages only tests load: what their sources import may come from devDependencies. Every other
// workspace must list what its sources import in dependencies, since the container image
// installs production dependencies only (npm ci --omit=dev) and a misplaced one fails at start.
const TEST_TOOLS = ["@shoal/contract-tests", "@shoal/testkit"];

const pkgs = new Map();
for (const dir of ["packages", "services"]) {
  for (const name of readdirSync(join(root, dir))) {
    const pj = join(root, dir, name, "package.json");
    try {
      const pkg = JSON.parse(readFileSync(pj, "utf8"));
      const runtime = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
      const dev = TEST_TOOLS.includes(pkg.name) ? Object.keys(pkg.devDependencies ?? {}) : [];
      pkgs.set(pkg.name, { dir: join(root, dir, name), deps: Object.keys(pkg.dependencies ?? {}), thirdParty: [...runtime, ...dev] });
    } catch {
      // not a workspace
    }
  }
}

const problems = [];
function walk(dir, out = []) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}
const importRe = /(?:^|\n)\s*(?:import|export)[^'";]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for built-ins and relative paths. */
function packageOf(spec) {
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:")) return undefined;
  const parts = spec.split("/");
  const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}
for (const [name, { dir, deps, thirdParty }] of pkgs) {
  let files = [];
  try {
    files = walk(join(dir, "src"));
  } catch {
    continue;
  }
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      // A subpath export (`@shoal/runtime/commands`) is its package's.
      const workspace = spec.startsWith("@shoal/") ? packageOf(spec) : undefined;
      if (workspace && !deps.includes(workspace) && workspace !== name) {
        problems.push(`${f}: imports ${spec}, which is not in ${name}'s dependencies`);
      }
      if (/^@shoal\/[^/]+\/src/.test(spec)) problems.push(`${f}: deep import ${spec}`);
      const external = packageOf(spec);
      if (external && !external.startsWith("@shoal/") && !thirdParty.includes(external)) {
        problems.push(`${f}: imports ${external}, which is not in ${name}'s dependencies (the image installs production dependencies only)`);
      }
      if (PURE.includes(name)) {
        if (FORBIDDEN_IN_PURE.some((re) => re.test(spec))) problems.push(`${f}: pure package ${name} imports ${spec}`);
        if (ADAPTERS.includes(spec)) problems.push(`${f}: pure package ${name} imports adapter ${spec}`);
      }
    }
    if (PURE.includes(name) && /process\.env|console\./.test(text)) problems.push(`${f}: pure package ${name} reads process.env or logs`);
  }
}
// Cycles in the package dependency graph.
const state = new Map();
function visit(n, stack) {
  if (state.get(n) === 2) return;
  if (state.get(n) === 1) {
    problems.push(`import cycle: ${[...stack.slice(stack.indexOf(n)), n].join(" -> ")}`);
    return;
  }
  state.set(n, 1);
  for (const d of pkgs.get(n)?.deps ?? []) if (pkgs.has(d)) visit(d, [...stack, n]);
  state.set(n, 2);
}
for (const n of pkgs.keys()) visit(n, []);
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`imports ok: ${pkgs.size} workspaces, no cycles, pure packages clean`);
