import { Gauge, type Registry } from "prom-client";
import type { RunningService } from "@shoal/service-kit";
import type { S3StoreStats } from "@shoal/store-s3";
import { TotalsCounter } from "./service-metrics.js";
import type { RoutingStore } from "./routing-store.js";

export type ServiceName = "tracker-poller" | "peer-worker" | "piece-verifier" | "storage-writer";

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * Prometheus series of one service, read from its `status()` (and the S3 stores' counters) at
 * each scrape: nothing on the hot path pays for metrics.
 */
export function registerServiceMetrics(registry: Registry, name: ServiceName, service: RunningService, store: RoutingStore): void {
  const status = () => service.status();
  if (name === "peer-worker") {
    // Registered first, so its collect (which samples the status once) runs before the series it feeds are read.
    new Gauge({
      name: "shoal_peer_connections",
      help: "Live peer connections",
      labelNames: ["torrent"],
      registers: [registry],
      collect() {
        this.reset();
        rates.reset();
        for (const [torrent, s] of Object.entries(status())) {
          const st = s as Record<string, unknown>;
          this.set({ torrent }, num(st["peers"]));
          rates.set({ torrent, direction: "download" }, num(st["downloadRateBytesPerSec"]));
          rates.set({ torrent, direction: "upload" }, num(st["uploadRateBytesPerSec"]));
          downloaded.observe(torrent, num(st["downloadedBytes"]), { torrent });
          uploaded.observe(torrent, num(st["uploadedBytes"]), { torrent });
        }
      },
    });
    const downloaded = new TotalsCounter(registry, "shoal_downloaded_bytes_total", "Bytes received from peers", ["torrent"]);
    const uploaded = new TotalsCounter(registry, "shoal_uploaded_bytes_total", "Payload bytes served to peers", ["torrent"]);
    const rates = new Gauge({ name: "shoal_transfer_rate_bytes", help: "Bytes per second over the last seconds", labelNames: ["torrent", "direction"], registers: [registry] });
  }
  if (name === "piece-verifier") {
    new TotalsCounter(registry, "shoal_pieces_verified_total", "Pieces whose hash matched", [], (c) => c.observe("", num(status()["verified"])));
    new TotalsCounter(registry, "shoal_hash_failures_total", "Pieces whose hash did not match", [], (c) => c.observe("", num(status()["failed"])));
    new TotalsCounter(registry, "shoal_hashed_bytes_total", "Bytes hashed", [], (c) => c.observe("", num(status()["hashedBytes"])));
  }
  if (name === "storage-writer") {
    new TotalsCounter(registry, "shoal_pieces_stored_total", "Pieces made durable in their final objects", [], (c) => c.observe("", num(status()["stored"])));
    // Staged pieces held (message unacknowledged, bytes in memory) until their verdict.
    new Gauge({
      name: "shoal_writer_awaiting_verdict_pieces",
      help: "Staged pieces the writer holds until the verifier's verdict",
      registers: [registry],
      collect() {
        this.set(num(status()["awaitingVerdict"]));
      },
    });
    new Gauge({
      name: "shoal_writer_awaiting_verdict_bytes",
      help: "Bytes of the staged pieces the writer holds until the verifier's verdict",
      registers: [registry],
      collect() {
        this.set(num(status()["awaitingVerdictBytes"]));
      },
    });
    new TotalsCounter(registry, "shoal_verdict_polls_total", "Claim-table reads for staged pieces whose verdict had not come", [], (c) =>
      c.observe("", num(status()["polls"])),
    );
  }
  if (name === "tracker-poller") {
    new Gauge({
      name: "shoal_torrents_running",
      help: "Torrent jobs this poller runs now",
      registers: [registry],
      collect() {
        this.set(num(status()["runningTorrents"]));
      },
    });
  }
  registerS3Metrics(registry, store);
}

function registerS3Metrics(registry: Registry, store: RoutingStore): void {
  // Registered first: its collect samples the stores for the counters below.
  new Gauge({
    name: "shoal_s3_buffered_bytes",
    help: "Bytes held in S3 write buffers (pieces waiting for the rest of their part)",
    labelNames: ["destination"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [dest, s] of store.opened) {
        const stats = (s as { stats?: () => S3StoreStats }).stats?.();
        if (!stats) continue;
        this.set({ destination: dest }, stats.bufferedBytes);
        written.observe(dest, stats.bytesWritten, { destination: dest });
        read.observe(dest, stats.bytesRead, { destination: dest });
        retries.observe(dest, stats.retries, { destination: dest });
        for (const [op, n] of Object.entries(stats.requests)) requests.observe(`${dest}/${op}`, n, { op, destination: dest });
      }
    },
  });
  const requests = new TotalsCounter(registry, "shoal_s3_requests_total", "S3 requests sent, each attempt counted", ["op", "destination"]);
  const written = new TotalsCounter(registry, "shoal_s3_written_bytes_total", "Object bytes sent to S3", ["destination"]);
  const read = new TotalsCounter(registry, "shoal_s3_read_bytes_total", "Object bytes read from S3", ["destination"]);
  const retries = new TotalsCounter(registry, "shoal_s3_retries_total", "S3 attempts that failed transiently and were made again", ["destination"]);
}
