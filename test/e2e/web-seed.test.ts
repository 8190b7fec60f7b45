import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makePayload, makeTorrent, sha256File, startWebSeedServer, type Payload, type WebSeedServer } from "@shoal/testkit";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function mirror(root: string, faults: Parameters<typeof startWebSeedServer>[0]["faults"] = {}): Promise<WebSeedServer> {
  const server = await startWebSeedServer({ root, faults });
  cleanups.push(() => server.stop());
  return server;
}

async function swarmWith(opts: Parameters<typeof startSwarm>[0]): Promise<Swarm> {
  const swarm = await startSwarm(opts);
  cleanups.push(() => swarm.close());
  return swarm;
}

async function mismatches(payload: Payload, out: string): Promise<string[]> {
  const bad: string[] = [];
  for (const f of payload.files) {
    const got = await sha256File(join(out, f.path)).catch(() => "missing");
    if (got !== f.sha256) bad.push(`${f.path}: ${got}`);
  }
  return bad;
}

const warnings = (events: Record<string, unknown>[]) => events.filter((e) => e["event"] === "warning").map((e) => String(e["message"]));

describe("shoal get from web seeds (BEP 19)", () => {
  it("downloads a single-file torrent with no tracker and no BitTorrent seed from its url-list", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-ws-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const payload = await makePayload(join(dir, "data"), { name: "single.bin", size: 6 * MiB + 4321 });
    const server = await mirror(join(dir, "data"));
    // A URL ending in "/" names the directory: the torrent's name is appended.
    const made = await makeTorrent({ path: payload.root, out: join(dir, "t.torrent"), pieceLength: 64 * 1024, webSeeds: [server.url] });
    const out = join(dir, "out");
    // Half-MiB requests, so the keep-alive connections each carry several.
    const r = await runCli(["get", made.torrentPath, "--out", out, "--port", "0", "--json"], 120_000, { SHOAL_PEER_WORKER_WEB_SEED_REQUEST_MIB: "0.5" });
    expect(r.code, r.stderr).toBe(0);
    expect(await mismatches(payload, out)).toEqual([]);
    expect(server.stats.bytesServed).toBe(payload.totalBytes);
    // Keep-alive: many ranged requests over a few connections.
    expect(server.stats.statuses[206]).toBeGreaterThan(1);
    expect(server.stats.connections).toBeLessThan(server.stats.requests);
    expect(server.stats.connections).toBeLessThanOrEqual(4);
  });

  it("downloads a multi-file torrent with pad files from a web seed given on the command line, never asking for the pad files", async () => {
    const swarm = await swarmWith({
      payload: {
        name: "multi set",
        files: [
          { path: "a/one.bin", size: 3 * MiB + 7 },
          { path: "a/empty.txt", size: 0 },
          { path: "b/c #2/two.bin", size: 2 * MiB },
          { path: "three.bin", size: 700_001 },
          { path: "tiny.txt", size: 1 },
        ],
      },
      pieceLength: 64 * 1024,
      tracker: "http",
      tool: "libtorrent-hybrid",
      seeds: 0,
    });
    const server = await mirror(join(swarm.dir, "data"));
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--web-seed", server.url], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    // Pad files are zeros made locally; only the real files' bytes were served.
    expect(server.stats.statuses[404] ?? 0).toBe(0);
    expect(server.stats.bytesServed).toBe(swarm.payload.totalBytes);
  });

  it("downloads a multi-file torrent whose pieces straddle files, with a 404 mirror next to a good one", async () => {
    const swarm = await swarmWith({
      payload: { name: "mk", files: [{ path: "x/1.bin", size: 2 * MiB + 1 }, { path: "x/2.bin", size: 123_456 }, { path: "y.bin", size: 1 * MiB + 3 }] },
      pieceLength: 32 * 1024,
      tracker: "udp",
      seeds: 0,
    });
    const missing = await mirror(join(swarm.dir, "data"), { notFound: true });
    const good = await mirror(join(swarm.dir, "data"));
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--web-seed", missing.url, "--web-seed", good.url], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    expect(missing.stats.statuses[404]).toBeGreaterThan(0);
    expect(warnings(r.events).some((w) => w.includes(missing.url) && w.includes("HTTP 404"))).toBe(true);
  });

  it("warns about a redirect loop without hanging, and follows a redirect to the real file", async () => {
    const swarm = await swarmWith({ payload: { name: "redir.bin", size: 3 * MiB + 99 }, pieceLength: 64 * 1024, tracker: "http", seeds: 0 });
    const server = await mirror(join(swarm.dir, "data"));
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--web-seed", server.loopUrl, "--web-seed", server.movedUrl], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    expect(warnings(r.events).some((w) => w.includes("redirect loop"))).toBe(true);
    expect(server.stats.statuses[302]).toBeGreaterThan(0);
  });

  it("recovers from a mirror whose bodies stop short", async () => {
    const swarm = await swarmWith({ payload: { name: "short.bin", size: 3 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 0 });
    const short = await mirror(join(swarm.dir, "data"), { shortBodies: true });
    const good = await mirror(join(swarm.dir, "data"), { bytesPerSecond: 2 * MiB });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--web-seed", short.url, "--web-seed", good.url], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    expect(short.stats.bytesServed).toBeGreaterThan(0);
    expect(warnings(r.events).some((w) => w.includes(short.url))).toBe(true);
  });

  it("bans a mirror serving wrong bytes and finishes from a BitTorrent seed", async () => {
    const swarm = await swarmWith({ payload: { name: "bad.bin", size: 4 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 1 });
    const liar = await mirror(join(swarm.dir, "data"), { corrupt: { from: 0, to: 4 * MiB } });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--web-seed", liar.url], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    expect(warnings(r.events).some((w) => w.includes(liar.url) && w.includes("banned"))).toBe(true);
  });

  it("a slow BitTorrent seed and a web seed together finish sooner than the seed alone could, and both contribute", async () => {
    const size = 8 * MiB;
    const seedRate = 128 * 1024;
    const swarm = await swarmWith({ payload: { name: "mix.bin", size }, pieceLength: 256 * 1024, tracker: "http", seeds: 1, seedUploadRateLimit: seedRate });
    // Four requests at 160 KiB/s each: the mirror alone would take about 13 s, the seed alone 64 s.
    const web = await mirror(join(swarm.dir, "data"), { bytesPerSecond: 160 * 1024 });
    const started = Date.now();
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--web-seed", web.url], 120_000, {
      SHOAL_PEER_WORKER_WEB_SEED_REQUEST_MIB: "0.5",
    });
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    expect(seconds).toBeLessThan(size / seedRate);
    expect(web.stats.bytesServed).toBeGreaterThan(0);
    // What the mirror did not serve came from the seed.
    expect(web.stats.bytesServed).toBeLessThan(size);
  });

  it("--max-download-rate holds for web seed bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-ws-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const size = 8 * MiB;
    const payload = await makePayload(join(dir, "data"), { name: "limited.bin", size });
    const server = await mirror(join(dir, "data"));
    const made = await makeTorrent({ path: payload.root, out: join(dir, "t.torrent"), pieceLength: 64 * 1024, webSeeds: [server.url] });
    const out = join(dir, "out");
    const r = await runCli(["get", made.torrentPath, "--out", out, "--port", "0", "--max-download-rate", "512K"], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await mismatches(payload, out)).toEqual([]);
    // 8 MiB at 512 KiB/s is 16 s of transfer; the mirror alone sends it in well under a second.
    // Socket buffers let the server write the last runs ahead of the client's reads (12.5 s
    // measured here), hence half the nominal time as the bound.
    const spanSeconds = (server.stats.lastByteAt - server.stats.firstByteAt) / 1000;
    expect(spanSeconds).toBeGreaterThan(8);
  });

  it("--no-web-seeds ignores the torrent's url-list and keeps the mirrors given with --web-seed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-ws-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const payload = await makePayload(join(dir, "data"), { name: "off.bin", size: 700_000 });
    const listed = await mirror(join(dir, "data"));
    const added = await mirror(join(dir, "data"));
    const made = await makeTorrent({ path: payload.root, out: join(dir, "t.torrent"), pieceLength: 64 * 1024, webSeeds: [listed.url] });
    const out = join(dir, "out");
    const r = await runCli(["get", made.torrentPath, "--out", out, "--port", "0", "--no-web-seeds", "--web-seed", `${added.url}off.bin`], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await mismatches(payload, out)).toEqual([]);
    expect(listed.stats.requests).toBe(0);
    // The added URL names the file itself (it does not end in "/").
    expect(added.stats.bytesServed).toBe(payload.totalBytes);
    // With neither (and no DHT), a torrent without a tracker has no source at all: refused at once.
    const none = await runCli(["get", made.torrentPath, "--out", join(dir, "out2"), "--port", "0", "--no-web-seeds", "--no-dht"], 30_000);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/names no HTTP or UDP tracker/);
  });
});
