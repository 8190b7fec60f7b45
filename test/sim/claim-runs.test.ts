import { describe, expect, it } from "vitest";
import type { PieceRecord } from "@shoal/coordination";
import { torrentLayout } from "@shoal/metainfo";
import { piecesOfUnit, planWrites, type WritePlan } from "@shoal/store-s3";
import { COMPLETE_WITHIN_MS, KiB, expectCompleteAndSound, scenarioKit } from "./scenario.js";
import { makeFixture } from "./torrent-fixture.js";

const kit = scenarioKit();

const MiB = 1024 * KiB;
const PIECE_BYTES = 16 * KiB;
/** 512 pieces. */
const TORRENT_BYTES = 8 * MiB;
/** 8 pieces a run: 64 windows. */
const RUN_PIECES = 8;
const RUN_MIB = (RUN_PIECES * PIECE_BYTES) / MiB;
/** 16 pieces in memory per worker: two runs. */
const BUDGET_PIECES = 16;
const BUDGET_MIB = (BUDGET_PIECES * PIECE_BYTES) / MiB;
const WORKERS = 3;
/** Each worker's pieces in memory span its budget's worth of runs, plus the run it is finishing and one it just opened. */
const WINDOWS_BOUND = WORKERS * (BUDGET_PIECES / RUN_PIECES + 2);

interface Peaks {
  /** Windows with a piece claimed, staged or verified: pieces on their way, not stored yet. */
  windowsInFlight: number;
  /** S3 parts with a piece stored or on its way and a piece not stored: parts the store holds open. */
  openParts: number;
  /** Stored pieces of parts still open: what an S3 store would hold in memory. */
  heldPieces: number;
}

/** The S3 store's plan for the fixture, scaled down: parts of one run's length, cut per file. */
function planOf(meta: Parameters<typeof torrentLayout>[0]): WritePlan {
  return planWrites(torrentLayout(meta), {
    partBytes: RUN_PIECES * PIECE_BYTES,
    smallObjectBytes: 4 * PIECE_BYTES,
    limits: { minPartBytes: PIECE_BYTES, maxParts: 10_000, maxPartBytes: 1024 * MiB, maxObjectBytes: 10_000 * 1024 * MiB },
  });
}

function measure(pieces: readonly PieceRecord[], plan: WritePlan): Peaks {
  const inFlight = new Set<number>();
  pieces.forEach((p, i) => {
    if (p.state === "claimed" || p.state === "staged" || p.state === "verified") inFlight.add(Math.floor(i / RUN_PIECES));
  });
  let openParts = 0;
  let heldPieces = 0;
  for (const unit of plan.units) {
    const { first, last } = piecesOfUnit(plan, unit);
    let begun = false;
    let stored = 0;
    for (let i = first; i <= last; i++) {
      if (pieces[i]!.state !== "missing") begun = true;
      if (pieces[i]!.state === "stored") stored++;
    }
    if (begun && stored <= last - first) {
      openParts++;
      heldPieces += stored;
    }
  }
  return { windowsInFlight: inFlight.size, openParts, heldPieces };
}

/**
 * Downloads the torrent with three workers and three seeds, and returns the most windows in
 * flight, parts open and pieces held at once, looked at after every claim (when windows and parts
 * open) and every stored piece (when held pieces grow).
 */
async function download(size: number | readonly number[], claimRunMiB: number, seed: number): Promise<Peaks> {
  const fixture = makeFixture({ pieceLength: PIECE_BYTES, size, seed });
  const plan = planOf(fixture.meta);
  const c = await kit.cluster({ fixture, workers: WORKERS, worker: { claimRunMiB, maxBufferedMiB: BUDGET_MIB } });
  const peaks: Peaks = { windowsInFlight: 0, openParts: 0, heldPieces: 0 };
  const sample = async () => {
    const now = measure(await c.claims.pieces(c.infoHash), plan);
    peaks.windowsInFlight = Math.max(peaks.windowsInFlight, now.windowsInFlight);
    peaks.openParts = Math.max(peaks.openParts, now.openParts);
    peaks.heldPieces = Math.max(peaks.heldPieces, now.heldPieces);
  };
  const onStored = () => void sample();
  c.claims.afterClaim = sample;
  c.events.on("stored", onStored);
  const seeds = await Promise.all(["127.0.0.91", "127.0.0.92", "127.0.0.93"].map((ip) => kit.seed(fixture, ip)));
  await c.begin();
  await c.announce(seeds.map((s) => s.address));
  await c.waitComplete(COMPLETE_WITHIN_MS);
  c.claims.afterClaim = undefined;
  c.events.off("stored", onStored);
  await expectCompleteAndSound(c);
  // Every worker took part, so the bounds below are about several workers at once.
  expect(new Set(c.stagedBy.map((s) => s.workerId)).size).toBe(WORKERS);
  return peaks;
}

describe("claim runs across several workers, parts lined up with the windows", () => {
  it("keeps the windows in flight and the parts open within the memory budget's worth of runs per worker", async () => {
    const runs = await download(TORRENT_BYTES, RUN_MIB, 61);
    expect(runs.windowsInFlight, JSON.stringify(runs)).toBeLessThanOrEqual(WINDOWS_BOUND);
    expect(runs.openParts, JSON.stringify(runs)).toBeLessThanOrEqual(WINDOWS_BOUND);
  });

  it("with runs off, pieces in flight are spread over many more windows, and nearly every part is open", async () => {
    const single = await download(TORRENT_BYTES, 0, 62);
    // Three workers' 48 pieces in memory, picked at random over 64 windows, touch about 35.
    expect(single.windowsInFlight, JSON.stringify(single)).toBeGreaterThan(WINDOWS_BOUND);
    // Random order begins every part long before it finishes any.
    expect(single.openParts, JSON.stringify(single)).toBeGreaterThan(3 * WINDOWS_BOUND);
  });
});

describe("claim runs across several workers, parts cut per file across the windows", () => {
  // Files that start mid-window: every part straddles two windows.
  const FILES = [300_000, 2_900_000, 5_188_608];
  /**
   * A part straddling a finished window and one not begun is held until the other is done.
   * Continuing next to what is done, each worker's region of the torrent keeps about a run held
   * at either edge, besides its budget of pieces in flight.
   */
  const HELD_BOUND = WORKERS * (2 * RUN_PIECES + BUDGET_PIECES);

  it("holds pieces for about two runs per worker beyond its budget", async () => {
    const runs = await download(FILES, RUN_MIB, 63);
    expect(runs.heldPieces, JSON.stringify(runs)).toBeLessThanOrEqual(HELD_BOUND);
    // Each window in flight overlaps two parts at most.
    expect(runs.openParts, JSON.stringify(runs)).toBeLessThanOrEqual(2 * WINDOWS_BOUND);
  });

  it("with runs off, holds most of the torrent", async () => {
    const single = await download(FILES, 0, 64);
    expect(single.heldPieces, JSON.stringify(single)).toBeGreaterThan(2 * HELD_BOUND);
  });
});
