#!/usr/bin/env node
// What the DHT costs and gives `shoal get`, as ratios against a tracker-only run in the same
// invocation. One loopback swarm: opentracker, a libtorrent seed on the tracker, and a little
// DHT of libtorrent nodes whose seed announces the same torrent into the DHT. Each round runs:
//   tracker  `shoal get T --no-dht`                          (the reference)
//   default  `shoal get T`  (DHT on, public routers: unresolvable without internet)
//   dht      `shoal get 'magnet:?xt=urn:btih:H' --dht-bootstrap <nodes>` (no tracker at all)
//   node bench/dht-bench.mjs [--size 16M] [--piece 256K] [--runs 3]
// Prints one JSON line per run and a summary with the median seconds and the ratios to tracker.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const kit = await import(join(root, "packages/testkit/dist/index.js"));
const { values } = parseArgs({ options: { size: { type: "string", default: "16M" }, piece: { type: "string", default: "256K" }, runs: { type: "string", default: "3" } } });
const bytes = (s) => Number.parseFloat(s) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[s.at(-1).toUpperCase()] ?? 1);
const dir = await mkdtemp(join(tmpdir(), "shoal-dhtbench-"));
const stops = [];
try {
  const data = join(dir, "data");
  const payload = await kit.makePayload(data, { name: "dht-bench.bin", size: bytes(values.size) });
  const tracker = await kit.startOpentracker({ infoHashes: [] });
  stops.push(() => tracker.stop());
  const made = await kit.makeTorrent({ path: payload.root, out: join(dir, "t.torrent"), pieceLength: bytes(values.piece), announce: [[tracker.httpAnnounce]] });
  await tracker.allow(made.announceHashes);
  const seed = await kit.startLibtorrentSeed({ torrentPath: made.torrentPath, dataDir: data });
  stops.push(() => seed.stop());
  await seed.ready;
  const dht = await kit.startLibtorrentDht(4, [{ torrentPath: made.torrentPath, dataDir: data }]);
  stops.push(() => dht.stop());
  await dht.announced(made.infoHashHex);
  const modes = {
    tracker: [made.torrentPath, "--no-dht"],
    default: [made.torrentPath],
    dht: [`magnet:?xt=urn:btih:${made.infoHashHex}`, "--dht-bootstrap", dht.bootstrap],
  };
  const seconds = { tracker: [], default: [], dht: [] };
  for (let run = 0; run < Number(values.runs); run++) {
    for (const [mode, args] of Object.entries(modes)) {
      const out = join(dir, `out-${mode}-${run}`);
      const started = Date.now();
      const child = spawn(process.execPath, [join(root, "packages/cli/bin/shoal.js"), "get", ...args, "--out", out, "--port", "0", "--dht-port", "0", "-q"], {
        stdio: "inherit",
        env: { ...process.env, SHOAL_DHT_STATE_FILE: join(out, ".dht.json") },
      });
      const code = await new Promise((r) => child.on("exit", r));
      const s = (Date.now() - started) / 1000;
      const ok = code === 0 && (await kit.sha256File(join(out, "dht-bench.bin"))) === payload.files[0].sha256;
      console.log(JSON.stringify({ run, mode, code, ok, seconds: s }));
      if (ok) seconds[mode].push(s);
      await rm(out, { recursive: true, force: true });
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const ref = median(seconds.tracker);
  console.log(
    JSON.stringify({
      summary: true,
      medianSeconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, median(v)])),
      ratioToTracker: { default: +(median(seconds.default) / ref).toFixed(2), dht: +(median(seconds.dht) / ref).toFixed(2) },
    }),
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
