#!/usr/bin/env node
// What RC4 (MSE/PE) costs per byte: the wire package's RC4 over a payload, in place and in the
// socket read size, against a plain copy of the same bytes in the same run. Usage:
//   node bench/rc4-bench.mjs [--size 1G] [--chunk 128K]
// Needs the build output of packages/wire (`npx tsc -b packages/wire`).
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { Rc4 } = await import(join(REPO_ROOT, "packages", "wire", "dist", "index.js"));

const UNITS = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
function size(raw, name) {
  const m = /^(\d+)([KMG]?)$/i.exec(raw);
  if (!m) throw new Error(`--${name} must be a size like 128K, 64M or 1G, got "${raw}"`);
  return Number(m[1]) * (UNITS[m[2].toUpperCase()] ?? 1);
}
const { values } = parseArgs({ options: { size: { type: "string", default: "1G" }, chunk: { type: "string", default: "128K" } } });
const total = size(values.size, "size");
const chunkBytes = size(values.chunk, "chunk");
const src = Buffer.alloc(chunkBytes, 0x5a);
const dst = Buffer.allocUnsafe(chunkBytes);

/** Runs `fn` over `total` bytes in chunks; wall seconds and CPU seconds (user + system). */
function measure(fn) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < total; done += chunkBytes) fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

const rc4 = new Rc4(Buffer.from("0123456789abcdef0123"));
rc4.skip(1024);
// Warm both paths up so the JIT has compiled them before the clock starts.
for (let i = 0; i < 64; i++) {
  rc4.process(src, dst);
  src.copy(dst);
}
const results = [
  ["copy", measure(() => src.copy(dst))],
  ["rc4 in place", measure(() => rc4.process(dst))],
  ["rc4 into another buffer", measure(() => rc4.process(src, dst))],
];
const gib = total / 1024 ** 3;
// On a shared machine the wall clock counts other processes' turns too: MB per CPU second is the
// cipher's own speed, MB/s what this run got.
console.log(`node ${process.version}, ${values.size} in ${values.chunk} chunks, load average ${loadavg()[0].toFixed(1)}`);
console.log("what\tMB/s (wall)\tMB per CPU s\tCPU s/GiB");
for (const [what, r] of results) {
  console.log(`${what}\t${(total / 1e6 / r.wall).toFixed(0)}\t${(total / 1e6 / r.cpu).toFixed(0)}\t${(r.cpu / gib).toFixed(2)}`);
}
