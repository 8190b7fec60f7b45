import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makePayload, makeTorrent, startLibtorrentDht, type LibtorrentDht, type Payload } from "@shoal/testkit";
import { metricValue, opsGet, startClusterBackends, type ClusterBackends } from "./cluster-kit.js";

const MiB = 1024 * 1024;

/**
 * The DHT in a cluster: the tracker-poller's node (SHOAL_DHT_BOOTSTRAP) finds the peers of a
 * bare magnet link in a DHT of libtorrent nodes, the workers download from them into the
 * bucket; a job submitted with --no-dht is refused at once.
 */
describe("cluster: a magnet link found through the tracker-poller's DHT node", () => {
  let backends: ClusterBackends;
  let dht: LibtorrentDht;
  let dir: string;
  let payload: Payload;
  let infoHashHex: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-dht-cluster-"));
    const data = join(dir, "data");
    payload = await makePayload(data, { name: "dht-cluster.bin", seed: "dht-cluster", size: 3 * MiB + 99 });
    const deadPort = await freePort("127.0.0.1");
    const made = await makeTorrent({ path: payload.root, out: join(dir, "t.torrent"), pieceLength: 256 * 1024, announce: [[`http://127.0.0.1:${deadPort}/announce`]] });
    infoHashHex = made.infoHashHex;
    [backends, dht] = await Promise.all([startClusterBackends(), startLibtorrentDht(3, [{ torrentPath: made.torrentPath, dataDir: data }])]);
    await dht.announced(infoHashHex);
  }, 180_000);

  afterAll(async () => {
    await backends?.close();
    await dht?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("lands the torrent of a magnet link with no tracker in the bucket, and counts the poller's lookups", async () => {
    const poller = backends.startService("tracker-poller", {
      SHOAL_DHT_BOOTSTRAP: dht.bootstrap,
      SHOAL_DHT_PORT: "0",
      SHOAL_DHT_STATE_FILE: join(dir, "poller-dht.json"),
    });
    const services = [poller, backends.startService("piece-verifier"), backends.startService("storage-writer"), backends.startService("peer-worker")];
    await Promise.all(services.map((s) => s.ready));
    const prefix = "dht/magnet";
    const r = await backends.shoal(["submit", `magnet:?xt=urn:btih:${infoHashHex}`, "--to", `s3://${backends.bucket}/${prefix}`, "--wait", "--json"], 240_000);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    const got = await backends.objects(`${prefix}/`);
    expect(got.get(`${prefix}/dht-cluster.bin`)).toEqual({ size: payload.totalBytes, sha256: payload.files[0]!.sha256 });
    expect(await dht.getPeersSeen()).toContain(infoHashHex);
    const metrics = await opsGet(await poller.ready, "/metrics");
    expect(metricValue(metrics.body, "shoal_dht_lookups_total")).toBeGreaterThan(0);
    expect(metricValue(metrics.body, "shoal_dht_nodes")).toBeGreaterThan(0);

    // A link the catalog does not know, as a job kept off the DHT, has no way to find a peer:
    // refused at once.
    const unknown = randomBytes(20).toString("hex");
    const off = await backends.shoal(["submit", `magnet:?xt=urn:btih:${unknown}`, "--to", `s3://${backends.bucket}/dht/off`, "--no-dht", "--wait", "--json"], 120_000);
    expect(off.code, off.stderr).toBe(2);
    expect(off.stderr).toMatch(/DHT is off/);
  }, 300_000);
});
