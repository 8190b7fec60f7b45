import type { JobProgress } from "@shoal/coordination";

export type ProgressMode = "tty" | "plain" | "json" | "quiet";

/** Seconds between plain progress lines when stdout is not a terminal. */
const PLAIN_INTERVAL_MS = 5000;

/**
 * Shows progress the way the output is consumed: a live line on a terminal, a line every few
 * seconds in logs, one JSON object per event for programs.
 */
export class ProgressReporter {
  private lastPlainAt = 0;
  private lineShown = false;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: NodeJS.WriteStream,
    private readonly now: () => number = () => Date.now(),
  ) {}

  event(type: string, fields: Record<string, unknown>): void {
    if (this.mode === "json") this.out.write(JSON.stringify({ event: type, time: new Date().toISOString(), ...fields }) + "\n");
  }

  progress(p: JobProgress): void {
    if (this.mode === "json") return this.event("progress", { ...p });
    if (this.mode === "quiet") return;
    const line = formatProgress(p);
    if (this.mode === "tty") {
      this.out.write(`\r\x1b[2K${line}`);
      this.lineShown = true;
    } else if (this.now() - this.lastPlainAt >= PLAIN_INTERVAL_MS) {
      this.lastPlainAt = this.now();
      this.out.write(line + "\n");
    }
  }

  /** A message on its own line (clears the live line first). */
  message(text: string): void {
    if (this.mode === "json") return;
    if (this.lineShown) {
      this.out.write("\r\x1b[2K");
      this.lineShown = false;
    }
    this.out.write(text + "\n");
  }
}

export function formatProgress(p: JobProgress): string {
  const pct = p.totalBytes > 0 ? (100 * p.storedBytes) / p.totalBytes : 100;
  const rate = p.downloadRateBytesPerSec;
  const left = p.totalBytes - p.storedBytes;
  const eta = rate > 0 ? formatDuration(left / rate) : "--";
  return (
    `${p.name}: ${pct.toFixed(1)}% ${formatBytes(p.storedBytes)}/${formatBytes(p.totalBytes)} ` +
    `${formatBytes(rate)}/s ETA ${eta} peers ${p.peers} pieces ${p.storedPieces}/${p.pieces}`
  );
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
