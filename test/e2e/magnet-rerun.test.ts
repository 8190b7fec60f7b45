import { readFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetainfo } from "@shoal/metainfo";
import { sha256File, startMetadataPeer } from "@shoal/testkit";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;

/**
 * `shoal get` with a magnet link keeps the verified metadata in the output directory, so the
 * same command run again knows the torrent without asking a peer, and `--select` works on it.
 */
describe("shoal get with a magnet link, run again", () => {
  let swarm: Swarm;
  let info: Uint8Array;

  beforeAll(async () => {
    swarm = await startSwarm({
      payload: {
        name: "magnet-rerun",
        seed: "magnet-rerun",
        files: [
          { path: "a.bin", size: 2 * MiB + 17 },
          { path: "sub/b.bin", size: 1 * MiB + 5 },
        ],
      },
      pieceLength: 64 * 1024,
      tracker: "http",
      seeds: 1,
    });
    info = parseMetainfo(await readFile(swarm.torrentPath)).infoBytes;
  }, 120_000);

  afterAll(async () => {
    await swarm?.close();
  }, 60_000);

  const fresh = async () => mkdtemp(join(tmpdir(), "shoal-magnet-rerun-"));
  const metadataEvent = (events: Record<string, unknown>[]) => events.find((e) => e["event"] === "metadata");

  it("keeps the metadata next to the data; a rerun over the finished tree asks no peer for it, and a damaged copy is fetched again", { timeout: 400_000 }, async () => {
    const out = await fresh();
    const counting = await startMetadataPeer({ infoHash: Buffer.from(swarm.infoHashHex, "hex"), mode: "honest", info });
    try {
      const seed = swarm.seeds[0]!;
      const first = await runCli(["get", `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=${seed.ip}:${seed.port}`, "--out", out, "--port", "0", "--json"], 120_000);
      expect(first.code, first.stderr).toBe(0);
      expect(metadataEvent(first.events)?.["metadataFrom"]).toBe("peers");
      expect(await swarm.mismatches(out)).toEqual([]);
      const kept = join(out, `.${swarm.infoHashHex}.torrent`);
      expect(Buffer.from(parseMetainfo(await readFile(kept)).infoBytes).equals(Buffer.from(info))).toBe(true);

      // Only a peer that would hand the metadata out (and counts each request) is named: the
      // rerun checks the finished tree against the kept metadata and never asks it.
      const onlyCounting = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=127.0.0.1:${counting.port}`;
      const again = await runCli(["get", onlyCounting, "--out", out, "--port", "0", "--json"], 120_000);
      expect(again.code, again.stderr).toBe(0);
      expect(metadataEvent(again.events)?.["metadataFrom"]).toBe("kept");
      expect(again.events.find((e) => e["event"] === "resumed")?.["pieces"]).toBe(parseMetainfo(await readFile(swarm.torrentPath)).pieceCount);
      expect(counting.requests()).toBe(0);

      // A damaged copy is not trusted: the metadata comes from the peer again and replaces it.
      const bytes = await readFile(kept);
      bytes[bytes.length - 10] ^= 0xff;
      await writeFile(kept, bytes);
      const repaired = await runCli(["get", onlyCounting, "--out", out, "--port", "0", "--json"], 120_000);
      expect(repaired.code, repaired.stderr).toBe(0);
      expect(metadataEvent(repaired.events)?.["metadataFrom"]).toBe("peers");
      expect(counting.requests()).toBeGreaterThan(0);
      expect(parseMetainfo(await readFile(kept)).infoHashHex).toBe(swarm.infoHashHex);
    } finally {
      await counting.close();
      await rm(out, { recursive: true, force: true });
    }
  });

  it("--select with a magnet link downloads only the files chosen, numbered as shoal info lists the kept metadata", { timeout: 400_000 }, async () => {
    const [listing, out] = [await fresh(), await fresh()];
    try {
      const seed = swarm.seeds[0]!;
      const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=${seed.ip}:${seed.port}`;
      const first = await runCli(["get", link, "--out", listing, "--port", "0"], 120_000);
      expect(first.code, first.stderr).toBe(0);
      const shown = await runCli(["info", join(listing, `.${swarm.infoHashHex}.torrent`), "--json"], 30_000);
      expect(shown.code, shown.stderr).toBe(0);
      const files = (JSON.parse(shown.stdout) as { files: { index: number; path: string }[] }).files;
      const b = files.find((f) => f.path.endsWith("sub/b.bin"))!;
      expect(b).toBeDefined();

      const r = await runCli(["get", link, "--out", out, "--port", "0", "--select", String(b.index), "--json"], 120_000);
      expect(r.code, r.stderr).toBe(0);
      expect(metadataEvent(r.events)?.["selectedFiles"]).toBe(1);
      const want = swarm.payload.files.find((f) => f.path.endsWith("sub/b.bin"))!;
      expect(await sha256File(join(out, want.path))).toBe(want.sha256);
      const other = swarm.payload.files.find((f) => f.path.endsWith("a.bin"))!;
      await expect(stat(join(out, other.path))).rejects.toThrow(/ENOENT/);

      // An index the torrent does not have is refused once the metadata is known, naming it.
      const bad = await runCli(["get", link, "--out", out, "--port", "0", "--select", "7"], 120_000);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/file selection: .*7/);
    } finally {
      await rm(listing, { recursive: true, force: true });
      await rm(out, { recursive: true, force: true });
    }
  });
});
