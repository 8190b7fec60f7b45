import { Gauge, type Registry } from "prom-client";
import { S3_DURATION_BUCKETS_SECONDS, S3_OPS, type S3StoreStats } from "@shoal/store-s3";
import type { RoutingStore } from "./routing-store.js";
import { registerSnapshotHistogram, type HistogramSnapshot } from "./snapshot-histogram.js";
import { TotalsCounter } from "./service-metrics.js";

/** The S3 stores this process opened, with their counters now. */
function s3Stats(store: RoutingStore): [destination: string, stats: S3StoreStats][] {
  const out: [string, S3StoreStats][] = [];
  for (const [dest, s] of store.opened) {
    const stats = (s as { stats?: () => S3StoreStats }).stats?.();
    if (stats) out.push([dest, stats]);
  }
  return out;
}

/**
 * The S3 series of any process that opened a bucket, read from the stores' counters at each
 * scrape. The request counter keeps its `destination` label (a job's bucket and prefix, few per
 * cluster) and adds `status`; the duration histogram is by operation only, summed over
 * destinations, since 14 series per label set would multiply by every destination.
 */
export function registerS3Metrics(registry: Registry, store: RoutingStore): void {
  // Registered first: its collect samples the stores for the counters below.
  new Gauge({
    name: "shoal_s3_buffered_bytes",
    help: "Bytes held in S3 write buffers (pieces waiting for the rest of their part)",
    labelNames: ["destination"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [dest, stats] of s3Stats(store)) {
        this.set({ destination: dest }, stats.bufferedBytes);
        written.observe(dest, stats.bytesWritten, { destination: dest });
        read.observe(dest, stats.bytesRead, { destination: dest });
        retries.observe(dest, stats.retries, { destination: dest });
        for (const [op, byStatus] of Object.entries(stats.requestsByStatus)) {
          for (const [status, n] of Object.entries(byStatus ?? {})) requests.observe(`${dest}\n${op}\n${status}`, n, { op, status, destination: dest });
        }
      }
    },
  });
  const requests = new TotalsCounter(registry, "shoal_s3_requests_total", "S3 requests sent, each attempt counted, by operation and HTTP status (timeout, network: no answer)", [
    "op",
    "status",
    "destination",
  ]);
  const written = new TotalsCounter(registry, "shoal_s3_written_bytes_total", "Object bytes sent to S3", ["destination"]);
  const read = new TotalsCounter(registry, "shoal_s3_read_bytes_total", "Object bytes read from S3", ["destination"]);
  const retries = new TotalsCounter(registry, "shoal_s3_retries_total", "S3 attempts that failed transiently and were made again", ["destination"]);
  registerSnapshotHistogram({
    name: "shoal_s3_request_duration_seconds",
    help: "S3 request attempts from sending to the last byte of the answer, by operation",
    upperBounds: S3_DURATION_BUCKETS_SECONDS,
    registry,
    read: () => {
      const all = s3Stats(store);
      const out: HistogramSnapshot[] = [];
      for (const op of S3_OPS) {
        const buckets = S3_DURATION_BUCKETS_SECONDS.map(() => 0);
        let count = 0;
        let sum = 0;
        for (const [, stats] of all) {
          const d = stats.durations[op];
          d.buckets.forEach((n, i) => (buckets[i]! += n));
          count += d.count;
          sum += d.sumSeconds;
        }
        // An operation this process never sent has no series, as prom-client's own histograms.
        if (count > 0) out.push({ labels: { op }, buckets, count, sum });
      }
      return out;
    },
  });
}
