import type { Metric, Registry } from "prom-client";

/** One label set's histogram as a package counted it: cumulative bucket counts, count and sum. */
export interface HistogramSnapshot {
  readonly labels: Readonly<Record<string, string>>;
  /** Cumulative, one per upper bound. */
  readonly buckets: readonly number[];
  readonly count: number;
  readonly sum: number;
}

export interface SnapshotHistogramOptions {
  readonly name: string;
  readonly help: string;
  readonly upperBounds: readonly number[];
  readonly registry: Registry;
  /** Read at each scrape. */
  readonly read: () => readonly HistogramSnapshot[];
}

/**
 * A Prometheus histogram whose buckets are counted elsewhere (the S3 store keeps its own, so that
 * the store does not depend on prom-client) and copied out at scrape time. prom-client's
 * Histogram can only `observe` values, not take counts, so this registers a metric of its own
 * that answers `get()` in the shape the registry formats: `_bucket` series with `le`, then `_sum`
 * and `_count`.
 */
export function registerSnapshotHistogram(o: SnapshotHistogramOptions): void {
  const metric = {
    name: o.name,
    help: o.help,
    type: "histogram",
    aggregator: "sum",
    get: async () => {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const h of o.read()) {
        o.upperBounds.forEach((le, i) => values.push({ metricName: `${o.name}_bucket`, labels: { ...h.labels, le }, value: h.buckets[i] ?? 0 }));
        values.push({ metricName: `${o.name}_bucket`, labels: { ...h.labels, le: "+Inf" }, value: h.count });
        values.push({ metricName: `${o.name}_sum`, labels: { ...h.labels }, value: h.sum });
        values.push({ metricName: `${o.name}_count`, labels: { ...h.labels }, value: h.count });
      }
      return { name: o.name, help: o.help, type: "histogram", values, aggregator: "sum" };
    },
    reset: () => undefined,
  };
  o.registry.registerMetric(metric as unknown as Metric);
}
