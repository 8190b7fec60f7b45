import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "@shoal/testkit";
import { runCli, startCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
});

function storedPieces(events: Record<string, unknown>[]): number {
  const p = events.filter((e) => e["event"] === "progress").at(-1);
  return Number(p?.["storedPieces"] ?? 0);
}

describe("interrupted downloads", () => {
  it("after kill -9, running again resumes without downloading verified pieces again", async () => {
    swarm = await startSwarm({ payload: { name: "resume.bin", size: 16 * MiB }, pieceLength: 256 * 1024, tracker: "http", seeds: 1, seedUploadRateLimit: 3 * MiB });
    const first = startCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"]);
    await waitFor(() => storedPieces(first.events) >= 12, { timeoutMs: 60_000, what: "12 pieces stored before the kill" });
    first.child.kill("SIGKILL");
    await first.exited;
    const before = storedPieces(first.events);

    const second = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 120_000);
    expect(second.code, second.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    const resumed = Number(second.events.find((e) => e["event"] === "resumed")?.["pieces"]);
    expect(resumed).toBeGreaterThanOrEqual(before);
    const done = second.events.find((e) => e["event"] === "completed")!;
    expect(done["resumedPieces"]).toBe(resumed);
    // Only the pieces that were not intact are downloaded the second time.
    expect(Number(done["downloadedBytes"])).toBe(16 * MiB - resumed * 256 * 1024);
  });

  it("Ctrl-C stops cleanly, announces stopped, keeps verified pieces, and a rerun completes", async () => {
    swarm = await startSwarm({ payload: { name: "ctrlc.bin", size: 12 * MiB }, pieceLength: 256 * 1024, tracker: "http", seeds: 1, seedUploadRateLimit: 3 * MiB });
    const first = startCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"]);
    await waitFor(() => storedPieces(first.events) >= 8, { timeoutMs: 60_000, what: "8 pieces stored before Ctrl-C" });
    await waitFor(async () => (await swarm!.tracker.peersOf(swarm!.infoHashHex)).length >= 2, { timeoutMs: 20_000, what: "shoal listed by the tracker" });
    first.child.kill("SIGINT");
    const exit = await first.exited;
    expect(exit.code).toBe(130);
    expect(first.events.some((e) => e["event"] === "stopped")).toBe(true);
    // The `stopped` announce removed us: only the seed is left in the tracker's list.
    expect((await swarm.tracker.peersOf(swarm.infoHashHex)).length).toBe(1);

    const second = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 120_000);
    expect(second.code, second.stderr).toBe(0);
    expect(Number(second.events.find((e) => e["event"] === "resumed")?.["pieces"])).toBeGreaterThanOrEqual(8);
    expect(await swarm.mismatches()).toEqual([]);
  });
});

describe("data already at the destination", () => {
  it("is rechecked, not trusted: damaged pieces are downloaded again, intact ones are kept", async () => {
    const { open } = await import("node:fs/promises");
    const { join } = await import("node:path");
    swarm = await startSwarm({ payload: { name: "present.bin", size: 4 * MiB }, pieceLength: 256 * 1024, tracker: "http", seeds: 1 });
    const first = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 60_000);
    expect(first.code, first.stderr).toBe(0);

    // Running again over complete data downloads nothing.
    const again = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 60_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.events.find((e) => e["event"] === "completed")?.["downloadedBytes"]).toBe(0);

    // Damage two pieces in place (same size, wrong bytes): the file looks complete but is not.
    const fh = await open(join(swarm.out, "present.bin"), "r+");
    await fh.write(Buffer.alloc(100, 0xee), 0, 100, 3 * 256 * 1024 + 17);
    await fh.write(Buffer.alloc(1, 0x00), 0, 1, 4 * MiB - 1);
    await fh.close();
    const repaired = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 60_000);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(Number(repaired.events.find((e) => e["event"] === "resumed")?.["pieces"])).toBe(14);
    expect(repaired.events.find((e) => e["event"] === "completed")?.["downloadedBytes"]).toBe(2 * 256 * 1024);
    expect(await swarm.mismatches()).toEqual([]);
  });
});
