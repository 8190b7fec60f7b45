#!/usr/bin/env node
// Cost of cluster-wide availability in Redis: for each torrent size and worker count, every
// worker publishes a changed vector and fetches the others' sum, as a peer-worker does once per
// `availabilitySyncSeconds`. Reports the wall time of each call as the worker sees it, the time
// Redis spent in its commands (INFO commandstats: scripts and HMGET) and the bytes each call moves.
// Usage: node bench/availability-bench.mjs [--pieces 10000,100000] [--workers 2,4,8,16] [--rounds 20]
// Needs redis-server (Debian) and the build output (`npx tsc -b`).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { startRedisServer, respCommand } = await import(join(REPO_ROOT, "packages", "testkit", "dist", "index.js"));
const { RedisClaimTable } = await import(join(REPO_ROOT, "packages", "coordination-redis", "dist", "index.js"));

const { values } = parseArgs({
  options: {
    pieces: { type: "string", default: "10000,100000" },
    workers: { type: "string", default: "2,4,8,16" },
    rounds: { type: "string", default: "20" },
  },
});
const list = (s) => s.split(",").map((x) => Number(x.trim()));
const rounds = Number(values.rounds);

/** Microseconds Redis spent in scripts and HMGET (the fetch's second command) so far, and the calls. */
async function scriptStats(url) {
  const info = String(await respCommand(url, ["INFO", "commandstats"]));
  let usec = 0;
  let calls = 0;
  for (const m of info.matchAll(/cmdstat_(evalsha|eval|hmget):calls=(\d+),usec=(\d+)/g)) {
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  return { usec, calls };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const redis = await startRedisServer();
try {
  console.log("| pieces | workers | vector | publish ms (median) | fetch ms (median) | fetch reply | Redis ms per publish | Redis ms per fetch |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const pieces of list(values.pieces)) {
    for (const workers of list(values.workers)) {
      const prefix = `bench-${pieces}-${workers}`;
      const table = new RedisClaimTable({ url: redis.url, prefix });
      const ih = "ab".repeat(20);
      await table.createTorrent(ih, pieces, []);
      const ids = Array.from({ length: workers }, (_, w) => `worker-${w}`);
      for (const id of ids) await table.heartbeat(ih, id, 600_000);
      const vector = new Uint16Array(pieces);
      const publishMs = [];
      const fetchMs = [];
      let publishUsec = 0;
      let fetchUsec = 0;
      for (let r = 0; r < rounds; r++) {
        for (const id of ids) {
          for (let i = r % 7; i < pieces; i += 7) vector[i] = (vector[i] + 1) % 50;
          let before = await scriptStats(redis.url);
          let t = performance.now();
          await table.publishAvailability(ih, id, vector);
          publishMs.push(performance.now() - t);
          let after = await scriptStats(redis.url);
          publishUsec += after.usec - before.usec;
          before = after;
          t = performance.now();
          await table.availability(ih, id);
          fetchMs.push(performance.now() - t);
          after = await scriptStats(redis.url);
          fetchUsec += after.usec - before.usec;
        }
      }
      const calls = rounds * workers;
      const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
      console.log(
        `| ${pieces} | ${workers} | ${kib(pieces * 2)} | ${median(publishMs).toFixed(2)} | ${median(fetchMs).toFixed(2)} | ${kib((workers - 1) * pieces * 2)} | ${(publishUsec / calls / 1000).toFixed(3)} | ${(fetchUsec / calls / 1000).toFixed(3)} |`,
      );
      await table.deleteTorrent(ih);
      await table.close();
    }
  }
} finally {
  await redis.stop();
}
