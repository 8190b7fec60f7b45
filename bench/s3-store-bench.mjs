#!/usr/bin/env node
// What the S3 store costs per GiB, apart from the rest of the cluster, against a real Swift
// server on loopback (started by the testkit). Two measurements, each in the same process:
//   recheck  the tracker-poller's check of an empty destination: readRange of every piece of a
//            torrent whose objects do not exist (each answered undefined)
//   write    every piece of a one-file torrent written in order through writePiece, for each
//            `checksum` setting (sha256, md5, none), rotating between them --rounds times
// and, with --interleave N, a third:
//   interleaved  a torrent of N equal files whose pieces arrive interleaved, one piece of each of
//            --window files in turn (small files of small pieces reaching a writer out of
//            order; --order shuffle: the window's pieces in a random order), once per --fill-budgets value (the store's fillBufferMiB), reporting the
//            peak bytes the store held in buffers and the peak array buffers of the process
// It reports wall seconds, this process's CPU seconds and the CPU seconds of Swift's processes,
// per GiB. Usage:
//   node bench/s3-store-bench.mjs [--size 1G] [--piece 1M] [--rounds 2] [--modes sha256,md5,none] [--skip-recheck]
//                                 [--interleave FILES [--window 256] [--order round-robin|shuffle] [--fill-budgets 64,65536] [--skip-writes]]
// Needs the build output (`npx tsc -b`): packages/store-s3 and packages/testkit.
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { commandLine, cpuSeconds, descendants } from "./lib/cluster-metrics.mjs";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { S3ObjectStore } = await import(join(REPO_ROOT, "packages", "store-s3", "dist", "index.js"));
const { startS3Server } = await import(join(REPO_ROOT, "packages", "testkit", "dist", "index.js"));

const UNITS = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
function size(raw, name) {
  const m = /^(\d+)([KMG]?)$/i.exec(raw);
  if (!m) throw new Error(`--${name} must be a size like 256K, 64M or 1G, got "${raw}"`);
  return Number(m[1]) * (UNITS[m[2].toUpperCase()] ?? 1);
}
const { values } = parseArgs({
  options: {
    size: { type: "string", default: "1G" },
    piece: { type: "string", default: "1M" },
    rounds: { type: "string", default: "2" },
    modes: { type: "string", default: "sha256,md5,none" },
    "skip-recheck": { type: "boolean", default: false },
    "skip-writes": { type: "boolean", default: false },
    interleave: { type: "string" },
    window: { type: "string", default: "256" },
    order: { type: "string", default: "round-robin" },
    "fill-budgets": { type: "string", default: "64,65536" },
  },
});
const total = size(values.size, "size");
const pieceLength = size(values.piece, "piece");
const rounds = Number(values.rounds);
const modes = values.modes.split(",").filter(Boolean);
const gib = total / 1024 ** 3;

/** A one-file torrent of `total` bytes; its pieces are views of a few reused random buffers. */
function layout(name) {
  return { infoHash: randomBytes(20).toString("hex"), name, pieceLength, totalLength: total, files: [{ path: [], length: total, offset: 0, padding: false, skipped: false }] };
}
const sources = Array.from({ length: 8 }, () => randomBytes(pieceLength));
const pieceData = (i) => (i === Math.ceil(total / pieceLength) - 1 ? sources[i % 8].subarray(0, total - i * pieceLength) : sources[i % 8]);

const s3 = await startS3Server();
const swiftCpu = () =>
  descendants(process.pid)
    .filter((pid) => /swift-|memcached/.test(commandLine(pid)))
    .reduce((t, pid) => t + cpuSeconds(pid), 0);
const store = (checksum, bucket, extra = {}) =>
  new S3ObjectStore({ endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKeyId, secretKey: s3.secretAccessKey, bucket, prefix: "bench", checksum, ...extra });

/** `files` equal files of `total` bytes in all, and the pieces in the interleaved order. */
function interleaved(name, files, window) {
  const length = Math.floor(total / files);
  const list = Array.from({ length: files }, (_, i) => ({ path: [`d${i % 97}`, `f${i}.bin`], length: i === files - 1 ? total - length * (files - 1) : length, offset: i * length, padding: false, skipped: false }));
  const t = { infoHash: randomBytes(20).toString("hex"), name, pieceLength, totalLength: total, files: list };
  const order = [];
  const seen = new Set();
  for (let w = 0; w < files; w += window) {
    const spans = list.slice(w, w + window).map((f) => [Math.floor(f.offset / pieceLength), Math.floor((f.offset + f.length - 1) / pieceLength)]);
    const start = order.length;
    for (let k = 0; spans.some(([a, b]) => a + k <= b); k++) {
      for (const [a, b] of spans) {
        const p = a + k;
        if (p <= b && !seen.has(p)) {
          seen.add(p);
          order.push(p);
        }
      }
    }
    if (values.order === "shuffle") {
      // A fixed-seed Fisher-Yates over this window's pieces, so runs compare like with like.
      let x = 0x9e3779b9 + w;
      for (let i = order.length - 1; i > start; i--) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        const j = start + (x % (i - start + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
  }
  return { t, order };
}

/** Runs `fn`; wall seconds, this process's CPU seconds and Swift's, each per GiB. */
async function measure(fn) {
  const cpu0 = process.cpuUsage();
  const swift0 = swiftCpu();
  const t0 = performance.now();
  await fn();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall: wall / gib, cpu: (cpu.user + cpu.system) / 1e6 / gib, swift: (swiftCpu() - swift0) / gib };
}

const rows = [];
const print = (what, r) => {
  rows.push([what, r]);
  console.log(`${what}\t${r.wall.toFixed(2)}\t${r.cpu.toFixed(2)}\t${r.swift.toFixed(2)}\t${loadavg()[0].toFixed(1)}`);
};
try {
  await s3.createBucket("bench");
  console.log(`node ${process.version}, ${values.size} in ${values.piece} pieces, load average at start ${loadavg()[0].toFixed(1)}`);
  console.log("what\twall s/GiB\tstore CPU s/GiB\tSwift CPU s/GiB\tload");
  const pieces = Math.ceil(total / pieceLength);
  if (!values["skip-recheck"]) {
    const s = store("auto", "bench");
    const t = layout("absent");
    await s.openTorrent(t);
    for (let round = 0; round < rounds; round++) {
      print("recheck of an empty destination", await measure(async () => {
        for (let i = 0; i < pieces; i++) if ((await s.readRange(t.infoHash, i * pieceLength, pieceData(i).length)) !== undefined) throw new Error(`piece ${i} read back`);
      }));
    }
    await s.close();
  }
  if (values.order !== "round-robin" && values.order !== "shuffle") throw new Error(`--order must be round-robin or shuffle, got "${values.order}"`);
  if (values.interleave !== undefined) {
    const files = Number(values.interleave);
    const window = Number(values.window);
    for (let round = 0; round < rounds; round++) {
      for (const budget of values["fill-budgets"].split(",").map(Number)) {
        const s = store("auto", "bench", { fillBufferMiB: budget });
        const { t, order } = interleaved(`interleaved-${budget}-${round}`, files, window);
        await s.openTorrent(t);
        let peakHeld = 0;
        let peakArrayBuffers = 0;
        const r = await measure(async () => {
          for (const [n, i] of order.entries()) {
            await s.writePiece(t.infoHash, i, pieceData(i));
            peakHeld = Math.max(peakHeld, s.stats().bufferedBytes);
            if (n % 64 === 0) peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
          }
          await s.finalize(t.infoHash);
        });
        print(`interleaved ${files} files, ${window} at a time, fillBufferMiB ${budget}: peak held ${(peakHeld / 2 ** 20).toFixed(1)} MiB, array buffers ${(peakArrayBuffers / 2 ** 20).toFixed(1)} MiB`, r);
        await s.close();
      }
    }
  }
  for (let round = 0; round < (values["skip-writes"] ? 0 : rounds); round++) {
    for (const mode of modes) {
      const s = store(mode, "bench");
      const t = layout(`write-${mode}-${round}`);
      await s.openTorrent(t);
      print(`write, checksum ${mode}`, await measure(async () => {
        for (let i = 0; i < pieces; i++) await s.writePiece(t.infoHash, i, pieceData(i));
        await s.finalize(t.infoHash);
      }));
      await s.close();
    }
  }
} finally {
  await s3.stop();
}
