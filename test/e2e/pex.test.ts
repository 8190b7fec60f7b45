import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { announceProbe, startLibtorrentSeed, startPexPeer, waitFor, type LibtorrentPeer, type PexTestPeer } from "@shoal/testkit";
import { UT_PEX } from "@shoal/wire";
import { runCli } from "./cli-process.js";
import { expectedObjects, startClusterBackends, type ClusterBackends } from "./cluster-kit.js";
import { startSwarm, type Swarm } from "./swarm.js";

const KiB = 1024;
const MiB = 1024 * KiB;

const fresh = async () => mkdtemp(join(tmpdir(), "shoal-pex-out-"));

/** A listener that only counts the connections made to it: an address only PEX names. */
async function startDecoy(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * shoal is told of one peer, a libtorrent leecher that is connected to three seeds, downloads
 * slowly (so it stays incomplete and connected) and uploads at 8 KiB/s: the payload would take
 * it over ten minutes to send. shoal completes in time only from the seeds that leecher names
 * in its ut_pex messages.
 */
describe("shoal get finds seeds through peer exchange (BEP 11)", () => {
  const size = 6 * MiB;
  let swarm: Swarm;
  let middle: LibtorrentPeer;
  let middleDir: string;

  beforeAll(async () => {
    swarm = await startSwarm({
      payload: { name: "pex-set", seed: "pex-e2e", files: [{ path: "a.bin", size }] },
      pieceLength: 64 * KiB,
      tracker: "http",
      seeds: 3,
    });
    middleDir = await mkdtemp(join(tmpdir(), "shoal-pex-middle-"));
    middle = await startLibtorrentSeed({
      torrentPath: swarm.torrentPath,
      dataDir: middleDir,
      mode: "leech",
      pex: true,
      uploadRateLimit: 8 * KiB,
      downloadRateLimit: 16 * KiB,
    });
    await middle.ready;
    await waitFor(async () => (await middle.state()).peers >= 3, { timeoutMs: 60_000, intervalMs: 200, what: "the leecher to connect the three seeds" });
  }, 180_000);

  afterAll(async () => {
    await middle?.stop();
    await swarm?.close();
    if (middleDir) await rm(middleDir, { recursive: true, force: true });
  }, 60_000);

  it("completes from seeds it was never told of, most bytes coming from them", async () => {
    const out = await fresh();
    try {
      const seeds = swarm.seeds as LibtorrentPeer[];
      const uploaded = async () => (await Promise.all(seeds.map((s) => s.state()))).reduce((n, s) => n + s.uploaded, 0);
      const seedsBefore = await uploaded();
      const middleBefore = (await middle.state()).downloaded;
      const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=${middle.ip}:${middle.port}`;
      const r = await runCli(["get", link, "--out", out, "--port", "0", "--json"], 150_000);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      expect(await swarm.mismatches(out)).toEqual([]);
      // What the seeds sent beyond what the leecher took is what shoal got from them. Without
      // PEX it is 0, and the leecher's 8 KiB/s could not have finished in time either.
      await expect
        .poll(async () => (await uploaded()) - seedsBefore - ((await middle.state()).downloaded - middleBefore), { timeout: 5_000, interval: 200 })
        .toBeGreaterThan(0.7 * size);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);
});

/**
 * A test peer that speaks only handshakes and ut_pex, found through the tracker next to one
 * libtorrent seed: it sees what shoal offers and sends, and tells shoal of an address nothing
 * else names (a listener that counts connections).
 */
describe.each([
  { kind: "public", private: false },
  { kind: "private", private: true },
])("peer exchange with a PEX-speaking peer, $kind torrent", ({ private: isPrivate }) => {
  let swarm: Swarm;
  let probe: PexTestPeer;
  let decoy: Awaited<ReturnType<typeof startDecoy>>;

  beforeAll(async () => {
    swarm = await startSwarm({
      payload: { name: "pex-probe-set", seed: `pex-probe-${isPrivate}`, files: [{ path: "b.bin", size: 1 * MiB + 3 }] },
      pieceLength: 32 * KiB,
      tracker: "http",
      seeds: 1,
      // About ten seconds: time for the first PEX message each way.
      seedUploadRateLimit: 100 * KiB,
      private: isPrivate,
    });
    decoy = await startDecoy();
    probe = await startPexPeer({ infoHash: Buffer.from(swarm.infoHashHex, "hex"), tell: [{ ip: "127.0.0.1", port: decoy.port }] });
    const answer = await announceProbe(swarm.tracker.httpAnnounce, swarm.infoHashHex, { port: probe.port, left: 1, localAddress: "127.0.0.1" });
    expect(answer.failure).toBeUndefined();
  }, 120_000);

  afterAll(async () => {
    await probe?.close();
    await decoy?.close();
    await swarm?.close();
  }, 60_000);

  it(isPrivate ? "offers no ut_pex, sends none, and dials nothing a peer names" : "offers ut_pex, tells the peer of its seed, and dials what the peer names", async () => {
    const out = await fresh();
    try {
      const r = await runCli(["get", swarm.torrentPath, "--out", out, "--port", "0", "--json", "--encryption", "disable"], 120_000);
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      expect(await swarm.mismatches(out)).toEqual([]);
      expect(probe.handshakes().length).toBeGreaterThan(0);
      const seed = swarm.seeds[0]!;
      if (isPrivate) {
        expect(probe.handshakes().every((h) => !h.extensions.has(UT_PEX))).toBe(true);
        expect(probe.received()).toEqual([]);
        expect(decoy.connections()).toBe(0);
      } else {
        expect(probe.handshakes()[0]!.extensions.has(UT_PEX)).toBe(true);
        const told = probe.received().flatMap((m) => m.added.map((p) => `${p.ip}:${p.port}`));
        expect(told).toContain(`${seed.ip}:${seed.port}`);
        expect(told).not.toContain(`${probe.ip}:${probe.port}`);
        expect(decoy.connections()).toBeGreaterThan(0);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 150_000);
});

/**
 * The same swarm shape through the cluster: the worker that connects the one peer the magnet link
 * names learns the seeds and registers them as free peers, and the other worker takes its share
 * of them from the registry: both download, and the seeds send most of the payload.
 */
describe("cluster: peers learnt through PEX reach every worker", () => {
  const size = 8 * MiB;
  let backends: ClusterBackends;
  let swarm: Swarm;
  let middle: LibtorrentPeer;
  let middleDir: string;

  beforeAll(async () => {
    [backends, swarm] = await Promise.all([
      startClusterBackends(),
      startSwarm({
        payload: { name: "pex-cluster-set", seed: "pex-cluster-e2e", files: [{ path: "c.bin", size }] },
        pieceLength: 64 * KiB,
        tracker: "http",
        seeds: 3,
        // Several seconds in all: the registry hands the second worker its seeds within two.
        seedUploadRateLimit: 512 * KiB,
      }),
    ]);
    middleDir = await mkdtemp(join(tmpdir(), "shoal-pex-middle-"));
    middle = await startLibtorrentSeed({ torrentPath: swarm.torrentPath, dataDir: middleDir, mode: "leech", pex: true, uploadRateLimit: 8 * KiB, downloadRateLimit: 16 * KiB });
    await middle.ready;
    await waitFor(async () => (await middle.state()).peers >= 3, { timeoutMs: 60_000, intervalMs: 200, what: "the leecher to connect the three seeds" });
  }, 180_000);

  afterAll(async () => {
    await backends?.close();
    await middle?.stop();
    await swarm?.close();
    if (middleDir) await rm(middleDir, { recursive: true, force: true });
  }, 60_000);

  it("two workers complete a magnet job from seeds only a peer named, each downloading a share", async () => {
    const services = [
      backends.startService("tracker-poller"),
      backends.startService("piece-verifier"),
      backends.startService("storage-writer"),
      backends.startService("peer-worker"),
      backends.startService("peer-worker"),
    ];
    await Promise.all(services.map((x) => x.ready));
    const prefix = "ingest/pex";
    const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=${middle.ip}:${middle.port}`;
    const submitted = await backends.shoal(["submit", link, "--to", `s3://${backends.bucket}/${prefix}`, "--wait", "--json"], 240_000);
    expect(submitted.stderr).not.toMatch(/internal error/);
    expect(submitted.code, submitted.stderr.slice(-4000)).toBe(0);
    const got = await backends.objects(`${prefix}/`);
    expect(got).toEqual(expectedObjects(swarm, prefix));

    const jobId = String(submitted.events.find((e) => e["event"] === "queued")?.["jobId"]);
    const status = await backends.shoal(["status", jobId, "--json"], 30_000);
    expect(status.code, status.stderr).toBe(0);
    const info = status.events[0] as { progress: { workers: { downloadedBytes: number }[] } };
    const shares = info.progress.workers.map((w) => w.downloadedBytes);
    expect(shares).toHaveLength(2);
    for (const share of shares) expect(share).toBeGreaterThan(0);
    const seedsSent = (await Promise.all((swarm.seeds as LibtorrentPeer[]).map((x) => x.state()))).reduce((n, x) => n + x.uploaded, 0);
    expect(seedsSent - (await middle.state()).downloaded).toBeGreaterThan(0.7 * size);
  }, 300_000);
});
