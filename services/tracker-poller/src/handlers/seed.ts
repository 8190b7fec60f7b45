import { setTimeout as sleep } from "node:timers/promises";

export interface SeedLimitsInput {
  /** Stop once uploaded bytes / size reach this. */
  readonly ratio?: number;
  /** Stop after this many seconds. */
  readonly seconds?: number;
}

export interface SeedProgress {
  /** Bytes uploaded so far in this job (the download phase included, as other clients count). */
  uploadedBytes(): number;
  /** The size the ratio is taken against: the bytes the job downloads. */
  readonly sizeBytes: number;
  /** Seeding also ends, without error, when this aborts (the user stopped a complete download). */
  readonly signal: AbortSignal;
  readonly checkEveryMs: number;
}

export type SeedEnd = "ratio" | "time" | "stopped";

/**
 * Keeps a complete torrent seeding (the caller keeps its swarm and announces alive) until the
 * upload ratio or the time limit is reached, whichever comes first, or until stopped.
 */
export async function seedUntilDone(limits: SeedLimitsInput, p: SeedProgress): Promise<SeedEnd> {
  const deadline = limits.seconds === undefined ? Infinity : Date.now() + limits.seconds * 1000;
  const reached = () => limits.ratio !== undefined && p.uploadedBytes() >= limits.ratio * Math.max(1, p.sizeBytes);
  for (;;) {
    if (p.signal.aborted) return "stopped";
    if (reached()) return "ratio";
    const left = deadline - Date.now();
    if (left <= 0) return "time";
    try {
      await sleep(Math.min(left, p.checkEveryMs), undefined, { signal: p.signal });
    } catch {
      return "stopped";
    }
  }
}
