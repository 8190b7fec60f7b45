import { describe, expect, it } from "vitest";
import type { JobProgress } from "@shoal/coordination";
import { formatBytes, formatDuration, formatProgress, ProgressReporter } from "../src/progress.js";
import { parseCommandLine, UsageError } from "../src/args.js";

const progress: JobProgress = {
  infoHash: "ab".repeat(20),
  name: "data.bin",
  totalBytes: 10 * 1024 * 1024,
  storedBytes: 2.5 * 1024 * 1024,
  pieces: 40,
  storedPieces: 10,
  peers: 3,
  downloadRateBytesPerSec: 1024 * 1024,
  uploadRateBytesPerSec: 0,
  downloadedBytes: 2.5 * 1024 * 1024,
  uploadedBytes: 0,
};

function sink() {
  const out: string[] = [];
  return { out, stream: { write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream };
}

describe("progress display", () => {
  it("formats percent, rate, ETA, peers and pieces", () => {
    expect(formatProgress(progress)).toBe("data.bin: 25.0% 2.5 MiB/10.0 MiB 1.0 MiB/s ETA 8s peers 3 pieces 10/40");
    expect(formatBytes(0)).toBe("0 B");
    expect(formatDuration(3725)).toBe("1h02m");
    expect(formatDuration(Infinity)).toBe("--");
  });

  it("redraws one line on a terminal and clears it before messages", () => {
    const s = sink();
    const r = new ProgressReporter("tty", s.stream);
    r.progress(progress);
    r.progress(progress);
    r.message("done");
    expect(s.out.slice(0, 2).every((l) => l.startsWith("\r\x1b[2K"))).toBe(true);
    expect(s.out.at(-1)).toBe("done\n");
  });

  it("prints a plain line at most every few seconds when not a terminal", () => {
    const s = sink();
    let now = 100_000;
    const r = new ProgressReporter("plain", s.stream, () => now);
    r.progress(progress);
    r.progress(progress);
    now += 5000;
    r.progress(progress);
    expect(s.out).toHaveLength(2);
    expect(s.out[0]).toMatch(/^data\.bin: 25\.0% .*\n$/);
  });

  it("writes one JSON object per event with --json", () => {
    const s = sink();
    const r = new ProgressReporter("json", s.stream);
    r.progress(progress);
    r.event("completed", { infoHash: "x" });
    r.message("ignored in JSON mode");
    const events = s.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e["event"])).toEqual(["progress", "completed"]);
    expect(events[0]!["storedPieces"]).toBe(10);
  });
});

describe("command line", () => {
  it("parses get with its options and rejects bad ones with a reason", () => {
    expect(parseCommandLine(["get", "a.torrent", "-o", "out", "--port", "0", "--json"])).toMatchObject({
      command: "get",
      source: "a.torrent",
      out: "out",
      port: 0,
      json: true,
    });
    expect(() => parseCommandLine(["get", "a.torrent"])).toThrow(UsageError);
    expect(() => parseCommandLine(["get", "a.torrent", "-o", "x", "--port", "70000"])).toThrow(/--port must be an integer from 0 to 65535/);
    expect(() => parseCommandLine(["fetch"])).toThrow(/unknown command "fetch"/);
    expect(parseCommandLine(["--help"])).toEqual({ command: "help" });
  });
});
