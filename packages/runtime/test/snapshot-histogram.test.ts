import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerSnapshotHistogram, type HistogramSnapshot } from "../src/snapshot-histogram.js";
import { TotalsCounter } from "../src/service-metrics.js";

describe("a histogram counted elsewhere", () => {
  it("is exposed as Prometheus histogram series, read afresh at each scrape", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: "storage-writer" });
    let snapshots: HistogramSnapshot[] = [];
    registerSnapshotHistogram({ name: "x_duration_seconds", help: "How long", upperBounds: [0.1, 1], registry, read: () => snapshots });
    expect(await registry.metrics()).toBe("# HELP x_duration_seconds How long\n# TYPE x_duration_seconds histogram\n");
    snapshots = [{ labels: { op: "uploadPart" }, buckets: [2, 5], count: 6, sum: 7.5 }];
    expect(await registry.metrics()).toBe(
      [
        "# HELP x_duration_seconds How long",
        "# TYPE x_duration_seconds histogram",
        'x_duration_seconds_bucket{op="uploadPart",le="0.1",service="storage-writer"} 2',
        'x_duration_seconds_bucket{op="uploadPart",le="1",service="storage-writer"} 5',
        'x_duration_seconds_bucket{op="uploadPart",le="+Inf",service="storage-writer"} 6',
        'x_duration_seconds_sum{op="uploadPart",service="storage-writer"} 7.5',
        'x_duration_seconds_count{op="uploadPart",service="storage-writer"} 6',
        "",
      ].join("\n"),
    );
  });
});

describe("a counter fed from running totals", () => {
  it("adds what grew, survives a total that restarts, and forgets a series whose source is gone", async () => {
    const registry = new Registry();
    const c = new TotalsCounter(registry, "y_bytes_total", "Bytes", ["torrent"]);
    c.observe("aa", 100, { torrent: "aa" });
    c.observe("aa", 150, { torrent: "aa" });
    // Restarted from zero (the torrent joined again): nothing is taken away, growth counts again.
    c.observe("aa", 10, { torrent: "aa" });
    c.observe("aa", 30, { torrent: "aa" });
    c.observe("bb", 5, { torrent: "bb" });
    expect(await registry.metrics()).toContain('y_bytes_total{torrent="aa"} 170');
    expect([...c.keys()].sort()).toEqual(["aa", "bb"]);
    c.forget("aa", { torrent: "aa" });
    const text = await registry.metrics();
    expect(text).not.toContain('torrent="aa"');
    expect(text).toContain('y_bytes_total{torrent="bb"} 5');
  });
});
