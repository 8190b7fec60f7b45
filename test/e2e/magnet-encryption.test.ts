import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
const payload = { name: "enc-magnet", files: [{ path: "a.bin", size: 2 * MiB + 99 }, { path: "b.bin", size: 300_001 }] };
// A metadata fetch that cannot succeed fails after this long instead of the default five minutes.
const SHORT_METADATA_WAIT = { SHOAL_TRACKER_POLLER_METADATA_TIMEOUT_SECONDS: "8" };

let swarm: Swarm | undefined;
const outs: string[] = [];
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
  for (const o of outs.splice(0)) await rm(o, { recursive: true, force: true });
});

async function fresh(): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), "shoal-magnet-enc-"));
  outs.push(out);
  return out;
}

/**
 * The connections that fetch a magnet link's metadata follow the same `--encryption` policy as
 * the workers' connections for pieces: an encrypted-only peer gives the metadata with default
 * settings, and `require`/`disable` hold for the metadata too.
 */
describe("magnet metadata over protocol encryption (MSE/PE)", () => {
  it("a libtorrent seed that takes encrypted connections only serves the metadata and the pieces with default settings; disable gets nothing", { timeout: 300_000 }, async () => {
    swarm = await startSwarm({ payload, pieceLength: 64 * 1024, tracker: "http", seeds: 1, seedEncryption: "forced" });
    const seed = swarm.seeds[0]!;
    const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=${seed.ip}:${seed.port}`;
    const out = await fresh();
    const r = await runCli(["get", link, "--out", out, "--port", "0", "--json"], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.events.find((e) => e["event"] === "metadata")?.["metadataFrom"]).toBe("peers");
    expect(await swarm.mismatches(out)).toEqual([]);

    const plain = await runCli(["get", link, "--out", await fresh(), "--port", "0", "--encryption", "disable"], 120_000, SHORT_METADATA_WAIT);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/no peer gave the torrent's metadata within 8 s \(1 peer\(s\) found; 127\.0\.0\.1:\d+: /);
  });

  it("require asks a plaintext-only seed for nothing and says it refused encryption; prefer falls back to plaintext and gets the metadata", { timeout: 300_000 }, async () => {
    swarm = await startSwarm({ payload, pieceLength: 64 * 1024, tracker: "http", seeds: 1, seedEncryption: "disabled" });
    const seed = swarm.seeds[0]!;
    const link = `magnet:?xt=urn:btih:${swarm.infoHashHex}&x.pe=${seed.ip}:${seed.port}`;
    const strict = await runCli(["get", link, "--out", await fresh(), "--port", "0", "--encryption", "require"], 120_000, SHORT_METADATA_WAIT);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/no peer gave the torrent's metadata.*peer refused encryption, which is required/);

    const out = await fresh();
    const r = await runCli(["get", link, "--out", out, "--port", "0", "--json"], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches(out)).toEqual([]);
  });
});
