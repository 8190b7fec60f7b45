import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, runLibtorrentLeech, sha256File, waitFor } from "@shoal/testkit";
import { runCli, startCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
});

/** Every regular file below `dir`, "/"-joined relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split(sep).join("/"));
  }
  return out.sort();
}

interface Sample {
  readonly t: number;
  readonly bytes: number;
}

/** Progress events as (seconds, counter) samples. */
function samples(events: Record<string, unknown>[], field: string): Sample[] {
  return events
    .filter((e) => e["event"] === "progress")
    .map((e) => ({ t: Date.parse(String(e["time"])) / 1000, bytes: Number(e[field]) }));
}

/**
 * Rates over every five-second span of samples that starts `skipSeconds` after the counter first
 * moved and ends before it stopped moving (the tail of a download is not limited by us).
 */
function windowRates(s: readonly Sample[], skipSeconds: number): number[] {
  const moving = s.findIndex((x) => x.bytes > 0);
  const last = s.findIndex((x) => x.bytes === s.at(-1)!.bytes);
  if (moving < 0) return [];
  const t0 = s[moving]!.t + skipSeconds;
  const rates: number[] = [];
  for (let i = 0; i < last; i++) {
    if (s[i]!.t < t0) continue;
    const j = s.findIndex((x, k) => k > i && x.t - s[i]!.t >= 5);
    if (j < 0 || j > last) break;
    rates.push((s[j]!.bytes - s[i]!.bytes) / (s[j]!.t - s[i]!.t));
  }
  return rates;
}

describe("shoal info and file selection against real seeds", () => {
  it("lists the files, downloads only the selected ones, and a wider rerun keeps them", async () => {
    swarm = await startSwarm({
      payload: {
        name: "sel",
        files: [
          { path: "a/one.bin", size: 3 * MiB + 7 },
          { path: "a/two.bin", size: MiB + 5 },
          { path: "b/three.bin", size: 2 * MiB + 3 },
          { path: "c.txt", size: 100 },
        ],
      },
      pieceLength: 256 * 1024,
      tracker: "http",
      seeds: 2,
    });
    const info = await runCli(["info", swarm.torrentPath, "--json"], 30_000);
    expect(info.code, info.stderr).toBe(0);
    const desc = info.events[0] as { infoHash: string; name: string; totalBytes: number; files: { index: number; path: string; length: number }[]; trackers: string[][] };
    expect(desc.infoHash).toBe(swarm.infoHashHex);
    expect(desc.name).toBe("sel");
    expect(desc.totalBytes).toBe(swarm.payload.totalBytes);
    expect(desc.trackers.flat()).toContain(swarm.tracker.httpAnnounce);
    expect(desc.files.map((f) => [f.path, f.length]).sort()).toEqual(swarm.payload.files.map((f) => [f.path, f.size]).sort());
    expect(desc.files.map((f) => f.index)).toEqual([0, 1, 2, 3]);

    // two.bin shares its first and last pieces with its neighbours: those bytes must not land as partial files.
    const pick = ["sel/a/two.bin", "sel/c.txt"].map((p) => desc.files.find((f) => f.path === p)!.index);
    const first = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--select", pick.join(",")], 120_000);
    expect(first.code, first.stderr).toBe(0);
    expect(await filesUnder(join(swarm.out, "sel"))).toEqual(["a/two.bin", "c.txt"]);
    for (const f of swarm.payload.files.filter((f) => f.path === "sel/a/two.bin" || f.path === "sel/c.txt")) {
      expect(await sha256File(join(swarm.out, f.path)), f.path).toBe(f.sha256);
    }
    const done = first.events.find((e) => e["event"] === "completed")!;
    expect((done["files"] as { path: string }[]).map((f) => f.path).sort()).toEqual(["sel/a/two.bin", "sel/c.txt"]);

    const second = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--select", "0-3"], 120_000);
    expect(second.code, second.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    // two.bin's whole pieces were kept (a boundary piece shared with an unselected file may be fetched again).
    expect(Number(second.events.find((e) => e["event"] === "resumed")?.["pieces"])).toBeGreaterThanOrEqual(2);
    // Everything is selected now: the bytes kept aside for unselected files are gone.
    expect((await readdir(swarm.out)).filter((n) => n.endsWith(".parts"))).toEqual([]);

    const bad = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--select", "9"], 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/file 9 does not exist: the torrent has 4 file\(s\), numbered 0 to 3/);
  });
});

describe("rate limits", () => {
  it("--max-download-rate holds every five-second window within 10 % of the limit", async () => {
    swarm = await startSwarm({ payload: { name: "limited.bin", size: 28 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 3 });
    const limit = 2 * MiB;
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--max-download-rate", "2M"], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    const rates = windowRates(samples(r.events, "downloadedBytes"), 5);
    expect(rates.length, "five-second windows measured").toBeGreaterThanOrEqual(3);
    for (const rate of rates) {
      expect(rate, `window rate ${rate.toFixed(0)} B/s`).toBeGreaterThan(limit * 0.9);
      expect(rate, `window rate ${rate.toFixed(0)} B/s`).toBeLessThan(limit * 1.1);
    }
    // The numbers are the workers' own: peers and rates were reported while downloading.
    const progress = r.events.filter((e) => e["event"] === "progress");
    expect(progress.some((e) => Number(e["peers"]) > 0)).toBe(true);
    expect(progress.some((e) => Number(e["downloadRateBytesPerSec"]) > 0)).toBe(true);
  });

  it("--max-upload-rate holds a seeding shoal near the limit, and Ctrl-C while seeding exits 0", async () => {
    // No other seed: the leecher can only get the bytes from shoal, which has them already.
    swarm = await startSwarm({ payload: { name: "up.bin", size: 12 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 0 });
    const port = await freePort();
    const dataDir = join(swarm.dir, "data");
    const seeder = startCli(["get", swarm.torrentPath, "--out", dataDir, "--port", String(port), "--json", "--max-upload-rate", "1M", "--seed-time", "600"]);
    try {
      await waitFor(() => seeder.events.some((e) => e["event"] === "seeding"), { timeoutMs: 30_000, what: "shoal to recheck its data and seed" });
      const leech = await runLibtorrentLeech({ torrentPath: swarm.torrentPath, outDir: join(swarm.dir, "leech"), peers: [`127.0.0.1:${port}`], noTrackers: true, timeoutMs: 60_000 });
      expect(leech.complete, leech.errors.join("; ")).toBe(true);
      await waitFor(() => samples(seeder.events, "uploadedBytes").at(-1)!.bytes >= 12 * MiB, { timeoutMs: 10_000, what: "shoal to count what it served" });
      const rates = windowRates(samples(seeder.events, "uploadedBytes"), 5);
      expect(rates.length, "five-second windows measured").toBeGreaterThanOrEqual(1);
      for (const rate of rates) {
        expect(rate, `window rate ${rate.toFixed(0)} B/s`).toBeGreaterThan(MiB * 0.9);
        expect(rate, `window rate ${rate.toFixed(0)} B/s`).toBeLessThan(MiB * 1.1);
      }
      expect((await stat(join(swarm.dir, "leech", "up.bin"))).size).toBe(12 * MiB);
      expect(await sha256File(join(swarm.dir, "leech", "up.bin"))).toBe(swarm.payload.files[0]!.sha256);
      seeder.child.kill("SIGINT");
      const exit = await seeder.exited;
      expect(exit.code, seeder.stderr()).toBe(0);
      expect(Number(seeder.events.find((e) => e["event"] === "completed")?.["uploadedBytes"])).toBeGreaterThanOrEqual(12 * MiB);
    } finally {
      seeder.child.kill("SIGKILL");
    }
  });
});

describe("seeding after the download", () => {
  it("--seed-ratio 1 keeps serving until a leecher took a full copy, then exits 0", async () => {
    swarm = await startSwarm({ payload: { name: "ratio.bin", size: 6 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 1 });
    const port = await freePort();
    const shoal = startCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", String(port), "--json", "--seed-ratio", "1"]);
    try {
      await waitFor(() => shoal.events.some((e) => e["event"] === "seeding"), { timeoutMs: 60_000, what: "shoal to finish downloading and seed" });
      expect(await swarm.mismatches()).toEqual([]);
      // Still running: the ratio is not reached until somebody downloads from it.
      expect(shoal.child.exitCode).toBeNull();
      const leech = await runLibtorrentLeech({ torrentPath: swarm.torrentPath, outDir: join(swarm.dir, "leech"), peers: [`127.0.0.1:${port}`], noTrackers: true, timeoutMs: 60_000 });
      expect(leech.complete, leech.errors.join("; ")).toBe(true);
      const exit = await Promise.race([shoal.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
      expect(exit?.code, shoal.stderr()).toBe(0);
      const done = shoal.events.find((e) => e["event"] === "completed")!;
      expect(Number(done["uploadedBytes"])).toBeGreaterThanOrEqual(6 * MiB);
    } finally {
      shoal.child.kill("SIGKILL");
    }
  });

  it("--seed-time ends seeding after that many seconds, exit 0", async () => {
    swarm = await startSwarm({ payload: { name: "timed.bin", size: 2 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 1 });
    const shoal = startCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json", "--seed-time", "3"]);
    try {
      await waitFor(() => shoal.events.some((e) => e["event"] === "seeding"), { timeoutMs: 60_000, what: "shoal to seed" });
      const seedingAt = Date.now();
      const exit = await shoal.exited;
      expect(exit.code, shoal.stderr()).toBe(0);
      expect(Date.now() - seedingAt).toBeGreaterThanOrEqual(2_500);
      expect(await swarm.mismatches()).toEqual([]);
    } finally {
      shoal.child.kill("SIGKILL");
    }
  });
});
