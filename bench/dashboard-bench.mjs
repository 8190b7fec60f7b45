#!/usr/bin/env node
// What one dashboard refresh costs for a large torrent: the Redis read of a piece table, its
// encoding into a piece map, and the bytes each open page receives. Starts its own redis-server
// on a free port. Usage: npx tsc -b && node bench/dashboard-bench.mjs [--pieces 100000] [--rounds 20]
import { parseArgs } from "node:util";
import { RedisClaimTable } from "@shoal/coordination-redis";
import { encodePieceMap } from "@shoal/dashboard";
import { startRedisServer } from "@shoal/testkit";

const { values } = parseArgs({ options: { pieces: { type: "string", default: "100000" }, rounds: { type: "string", default: "20" } } });
const pieces = Number(values.pieces);
const rounds = Number(values.rounds);
const redis = await startRedisServer();
const claims = new RedisClaimTable({ url: redis.url, prefix: "bench" });
const ih = "cd".repeat(20);
try {
  // Mid-download: 60 % stored from the start, claims of four workers in runs, the rest missing.
  const stored = Array.from({ length: Math.floor(pieces * 0.6) }, (_, i) => i);
  await claims.createTorrent(ih, pieces, stored);
  for (let w = 0; w < 4; w++) {
    const from = Math.floor(pieces * 0.6) + w * 1000;
    const run = Array.from({ length: 256 }, (_, i) => from + i);
    await claims.heartbeat(ih, `worker-${w}`, 60_000);
    await claims.claim(ih, `worker-${w}`, run, run.length);
  }
  const read = [];
  const encode = [];
  let map;
  const index = new Map();
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const records = await claims.pieces(ih);
    const t1 = performance.now();
    map = encodePieceMap(records, index);
    const t2 = performance.now();
    read.push(t1 - t0);
    encode.push(t2 - t1);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const event = `event: pieces\ndata: ${JSON.stringify({ jobId: "1", ...map })}\n\n`;
  console.log(
    JSON.stringify({
      pieces,
      rounds,
      redisReadMsMedian: +median(read).toFixed(2),
      encodeMsMedian: +median(encode).toFixed(2),
      mapEventBytes: Buffer.byteLength(event),
      rawBytesPerPiece: 1,
    }),
  );
} finally {
  await claims.close();
  await redis.stop();
}
