#!/usr/bin/env node
// `shoal get` from one loopback web seed (BEP 19) and nothing else: a torrent with no tracker
// whose url-list names the testkit's web seed server.
//   node bench/web-seed-bench.mjs [--size 256M] [--piece 256K] [--request-mib 4] [--per-host 4]
// Prints one JSON line: seconds, MiB/s, requests and connections the mirror saw.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { makePayload, makeTorrent, startWebSeedServer } = await import(join(root, "packages/testkit/dist/index.js"));
const { values } = parseArgs({
  options: { size: { type: "string", default: "256M" }, piece: { type: "string", default: "256K" }, "request-mib": { type: "string" }, "per-host": { type: "string" } },
});
const bytes = (s) => Number.parseFloat(s) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[s.at(-1).toUpperCase()] ?? 1);
const size = bytes(values.size);
const dir = await mkdtemp(join(tmpdir(), "shoal-wsbench-"));
try {
  const payload = await makePayload(join(dir, "data"), { name: "big.bin", size });
  const server = await startWebSeedServer({ root: join(dir, "data") });
  const made = await makeTorrent({ path: payload.root, out: join(dir, "t.torrent"), pieceLength: bytes(values.piece), webSeeds: [server.url] });
  const env = { ...process.env };
  if (values["request-mib"]) env.SHOAL_PEER_WORKER_WEB_SEED_REQUEST_MIB = values["request-mib"];
  if (values["per-host"]) env.SHOAL_PEER_WORKER_WEB_SEED_REQUESTS_PER_HOST = values["per-host"];
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, "packages/cli/bin/shoal.js"), "get", made.torrentPath, "--out", join(dir, "out"), "--port", "0", "-q"], { stdio: "inherit", env });
  const code = await new Promise((r) => child.on("exit", r));
  const seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ code, seconds, MiBps: +(size / 1024 ** 2 / seconds).toFixed(1), requests: server.stats.requests, connections: server.stats.connections }));
  await server.stop();
} finally {
  await rm(dir, { recursive: true, force: true });
}
