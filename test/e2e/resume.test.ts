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
