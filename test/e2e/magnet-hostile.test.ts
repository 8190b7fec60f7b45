import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METADATA_PIECE_BYTES } from "@shoal/wire";
import { startMetadataPeer } from "@shoal/testkit";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

/**
 * Peers that lie about the metadata must not stop a magnet download: a dict that fails the hash
 * check names its one sender, which is not asked again, and an oversized one is refused before
 * anything is allocated for it.
 */
describe("shoal get with a magnet link among hostile peers", () => {
  let swarm: Swarm;

  beforeAll(async () => {
    // Hundreds of files make an info dict of several 16 KiB metadata pieces.
    const files = Array.from({ length: 600 }, (_, i) => ({ path: `folder-with-a-long-name-${i % 7}/file-number-${String(i).padStart(4, "0")}.bin`, size: 1024 + i }));
    swarm = await startSwarm({ payload: { name: "hostile-meta", seed: "hostile-meta", files }, pieceLength: 64 * 1024, tracker: "http", seeds: 1 });
  }, 120_000);

  afterAll(async () => {
    await swarm?.close();
  }, 60_000);

  it("completes from the honest seed while one peer sends wrong metadata and another announces an oversized one", async () => {
    const infoHash = Buffer.from(swarm.infoHashHex, "hex");
    const { readFile } = await import("node:fs/promises");
    const { parseMetainfo } = await import("@shoal/metainfo");
    const realSize = parseMetainfo(await readFile(swarm.torrentPath)).infoBytes.length;
    expect(realSize).toBeGreaterThan(2 * METADATA_PIECE_BYTES);
    const [liar, bloated] = [await startMetadataPeer({ infoHash, size: realSize, mode: "lie" }), await startMetadataPeer({ infoHash, size: realSize, mode: "oversize" })];
    const out = await mkdtemp(join(tmpdir(), "shoal-magnet-hostile-"));
    let gate: { port: number; server: Server } | undefined;
    try {
      const seed = swarm.seeds[0]!;
      // The honest seed is reached through a gate that opens once the liar has been asked, so
      // the liar's answer is always there to be checked and thrown away (a fast seed could
      // otherwise hand out the whole dict first).
      gate = await gateUntil(() => liar.requests() > 0, seed.ip, seed.port);
      const link =
        `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=127.0.0.1:${liar.port}&x.pe=127.0.0.1:${bloated.port}` + `&x.pe=127.0.0.1:${gate.port}`;
      const r = await runCli(["get", link, "--out", out, "--port", "0", "--log-level", "warn"], 120_000);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(await swarm.mismatches(out)).toEqual([]);
      // The liar was asked (so its answer was checked and thrown away), the bloated one never was.
      expect(liar.requests()).toBeGreaterThan(0);
      expect(bloated.requests()).toBe(0);
    } finally {
      await Promise.all([liar.close(), bloated.close(), new Promise((resolve) => (gate ? gate.server.close(resolve) : resolve(undefined)))]);
      await rm(out, { recursive: true, force: true });
    }
  });
});

/**
 * A TCP forwarder to `host:port` that holds each connection, unread, until `open()` is true
 * (checked every 20 ms for up to 30 s), then pipes it through.
 */
async function gateUntil(open: () => boolean, host: string, port: number): Promise<{ port: number; server: Server }> {
  const server = createServer((client) => {
    client.pause();
    const deadline = Date.now() + 30_000;
    const tick = setInterval(() => {
      if (client.destroyed) return clearInterval(tick);
      if (!open() && Date.now() < deadline) return;
      clearInterval(tick);
      const upstream = connect(port, host, () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      client.on("close", () => upstream.destroy());
    }, 20);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, server };
}
