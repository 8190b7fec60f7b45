import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetainfo } from "@shoal/metainfo";
import { startMetadataPeer } from "@shoal/testkit";
import { expectedObjects, serviceLogs, startClusterBackends, type ClusterBackends } from "./cluster-kit.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;

/**
 * `shoal submit 'magnet:...'` on a cluster whose catalog has never seen the torrent: the
 * tracker-poller fetches the info dict from the peers the link leads to (a tr= tracker, or x.pe
 * alone) and the job lands in the bucket byte-identical; submitted again, the metadata comes from
 * the catalog and no peer is asked for it.
 */
describe("cluster: magnet links whose metadata comes from peers", () => {
  let backends: ClusterBackends;
  let viaTracker: Swarm;
  let viaPeers: Swarm;

  const swarmOf = (name: string) =>
    startSwarm({
      payload: { name, seed: name, files: [{ path: "one.bin", size: 3 * MiB + 11 }, { path: "sub/two.bin", size: 1 * MiB + 7 }] },
      pieceLength: 256 * 1024,
      tracker: "http",
      seeds: 2,
    });

  beforeAll(async () => {
    [backends, viaTracker, viaPeers] = await Promise.all([startClusterBackends(), swarmOf("cluster-magnet-tr"), swarmOf("cluster-magnet-pe")]);
    const services = [
      backends.startService("tracker-poller"),
      backends.startService("piece-verifier"),
      backends.startService("storage-writer"),
      backends.startService("peer-worker"),
      backends.startService("peer-worker"),
    ];
    await Promise.all(services.map((s) => s.ready));
  }, 180_000);

  afterAll(async () => {
    await backends?.close();
    await viaTracker?.close();
    await viaPeers?.close();
  }, 60_000);

  const poller = () => backends.services.find((s) => s.name === "tracker-poller")!;
  /** The poller's log lines about where `infoHash`'s metadata came from. */
  const metadataLogs = (infoHash: string) => serviceLogs(poller()).filter((l) => l["infoHash"] === infoHash && l["op"] === "magnet.metadata").map((l) => String(l["msg"]));

  async function landsIn(swarm: Swarm, link: string, prefix: string): Promise<void> {
    const submitted = await backends.shoal(["submit", link, "--to", `s3://${backends.bucket}/${prefix}`, "--wait", "--json"], 240_000);
    expect(submitted.stderr).not.toMatch(/internal error/);
    expect(submitted.code, submitted.stderr.slice(-3000) + poller().stderr().slice(-3000)).toBe(0);
    const got = await backends.objects(`${prefix}/`);
    const want = expectedObjects(swarm, prefix);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    const wrong = [...want].filter(([key, w]) => got.get(key)?.sha256 !== w.sha256 || got.get(key)?.size !== w.size).map(([key]) => key);
    expect(wrong).toEqual([]);
  }

  it("a link with only a tr= tracker: the poller finds the seeds there and fetches the metadata from them", async () => {
    const link = `magnet:?xt=urn:btih:${viaTracker.infoHashHex}&dn=x&tr=${encodeURIComponent(viaTracker.tracker.httpAnnounce)}`;
    await landsIn(viaTracker, link, "magnet/tracker");
    expect(metadataLogs(viaTracker.infoHashHex)).toEqual(["metadata fetched from peers and verified"]);
  }, 300_000);

  it("a link with only x.pe peers; submitted again, its metadata comes from the catalog and no peer is asked for it", async () => {
    const pe = viaPeers.seeds.map((s) => `&x.pe=${s.ip}:${s.port}`).join("");
    await landsIn(viaPeers, `magnet:?xt=urn:btih:${viaPeers.infoHashHex}${pe}`, "magnet/peers");
    expect(metadataLogs(viaPeers.infoHashHex)).toEqual(["metadata fetched from peers and verified"]);

    // Named first, a peer that hands out the metadata and counts each request: a fetch would ask it.
    const info = parseMetainfo(await readFile(viaPeers.torrentPath)).infoBytes;
    const counting = await startMetadataPeer({ infoHash: Buffer.from(viaPeers.infoHashHex, "hex"), mode: "honest", info });
    try {
      await landsIn(viaPeers, `magnet:?xt=urn:btih:${viaPeers.infoHashHex}&x.pe=127.0.0.1:${counting.port}${pe}`, "magnet/again");
      expect(counting.requests()).toBe(0);
      expect(metadataLogs(viaPeers.infoHashHex)).toEqual(["metadata fetched from peers and verified", "metadata already in the catalog"]);
    } finally {
      await counting.close();
    }
  }, 300_000);
});
