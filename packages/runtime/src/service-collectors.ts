import { Gauge, type Registry } from "prom-client";
import type { BusStats } from "@shoal/bus-nats";
import { PIECE_STATES, type JobCounts } from "@shoal/coordination";
import type { ByteTotals } from "@shoal/peer-worker";
import type { Logger, RunningService } from "@shoal/service-kit";
import { registerBusMetrics } from "./bus-collectors.js";
import type { RoutingStore } from "./routing-store.js";
import { registerS3Metrics } from "./s3-collectors.js";
import { TotalsCounter } from "./service-metrics.js";

export type ServiceName = "tracker-poller" | "peer-worker" | "piece-verifier" | "storage-writer";

/** Job states as the `shoal_jobs` gauge labels them: every one, 0 included. */
const JOB_STATES = ["waiting", "active", "delayed", "completed", "failed"] as const satisfies readonly (keyof JobCounts)[];

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Where a service process's series come from, besides the service's own `status()`. */
export interface MetricSources {
  readonly store: RoutingStore;
  readonly busStats: () => BusStats;
  /** peer-worker: payload bytes per torrent, ended torrents included (`RunningPeerWorker.byteTotals`). */
  readonly byteTotals?: () => Readonly<Record<string, ByteTotals>>;
  /** tracker-poller: the job queue's counts by state (one Redis call per scrape). */
  readonly jobCounts?: () => Promise<JobCounts>;
  readonly logger?: Logger;
}

/**
 * Prometheus series of one service, read from its `status()`, the bus's and the S3 stores'
 * counters at each scrape: nothing on the hot path pays for metrics. The names are listed in the
 * runtime README; each is exported by the service that knows it, once per cluster where that
 * matters (pieces by state come from the torrent's owner only).
 */
export function registerServiceMetrics(registry: Registry, name: ServiceName, service: RunningService, sources: MetricSources): void {
  const status = () => service.status();
  if (name === "peer-worker") registerWorkerMetrics(registry, status, sources.byteTotals ?? (() => ({})));
  if (name === "piece-verifier") {
    new TotalsCounter(registry, "shoal_pieces_verified_total", "Pieces whose hash matched", [], (c) => c.observe("", num(status()["verified"])));
    new TotalsCounter(registry, "shoal_hash_failures_total", "Pieces whose hash did not match", [], (c) => c.observe("", num(status()["failed"])));
    new TotalsCounter(registry, "shoal_hashed_bytes_total", "Bytes hashed", [], (c) => c.observe("", num(status()["hashedBytes"])));
    new TotalsCounter(registry, "shoal_peers_banned_total", "Peers banned for the whole cluster after repeated hash failures", [], (c) =>
      c.observe("", num(status()["banned"])),
    );
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
    new Gauge({
      name: "shoal_held_pieces",
      help: "Verified pieces held in memory under this writer's lease until their part is uploaded",
      registers: [registry],
      collect() {
        this.set(num(status()["held"]));
      },
    });
  }
  if (name === "tracker-poller") registerPollerMetrics(registry, status, sources);
  registerBusMetrics(registry, sources.busStats);
  registerS3Metrics(registry, sources.store);
}

function registerWorkerMetrics(registry: Registry, status: () => Record<string, unknown>, byteTotals: () => Readonly<Record<string, ByteTotals>>): void {
  // Registered first, so its collect (which samples the status once) runs before the series it feeds are read.
  new Gauge({
    name: "shoal_peer_connections",
    help: "Live peer connections",
    labelNames: ["torrent"],
    registers: [registry],
    collect() {
      this.reset();
      for (const g of [rates, known, claimed, staged]) g.reset();
      for (const [torrent, s] of Object.entries(status())) {
        const st = s as Record<string, unknown>;
        this.set({ torrent }, num(st["peers"]));
        known.set({ torrent }, num(st["knownPeers"]));
        claimed.set({ torrent }, num(st["claimedPieces"]));
        staged.set({ torrent }, num(st["stagedPieces"]));
        rates.set({ torrent, direction: "download" }, num(st["downloadRateBytesPerSec"]));
        rates.set({ torrent, direction: "upload" }, num(st["uploadRateBytesPerSec"]));
      }
      // Byte totals include torrents that ended since the last scrape; a torrent gone from them
      // (ended long ago) loses its series, so a long-lived worker does not keep one per torrent
      // it ever served.
      const totals = byteTotals();
      for (const c of [downloaded, uploaded]) for (const torrent of [...c.keys()]) if (!(torrent in totals)) c.forget(torrent, { torrent });
      for (const [torrent, t] of Object.entries(totals)) {
        downloaded.observe(torrent, t.downloadedBytes, { torrent });
        uploaded.observe(torrent, t.uploadedBytes, { torrent });
      }
    },
  });
  const downloaded = new TotalsCounter(registry, "shoal_downloaded_bytes_total", "Bytes received from peers", ["torrent"]);
  const uploaded = new TotalsCounter(registry, "shoal_uploaded_bytes_total", "Payload bytes served to peers", ["torrent"]);
  const rates = new Gauge({ name: "shoal_transfer_rate_bytes", help: "Bytes per second over the last seconds", labelNames: ["torrent", "direction"], registers: [registry] });
  const known = new Gauge({ name: "shoal_known_peers", help: "Peer addresses in this worker's address book", labelNames: ["torrent"], registers: [registry] });
  const claimed = new Gauge({ name: "shoal_claimed_pieces", help: "Pieces this worker holds a claim on and is downloading", labelNames: ["torrent"], registers: [registry] });
  const staged = new Gauge({ name: "shoal_staged_pieces", help: "Pieces this worker staged, held under its lease until verified", labelNames: ["torrent"], registers: [registry] });
}

function registerPollerMetrics(registry: Registry, status: () => Record<string, unknown>, sources: MetricSources): void {
  new Gauge({
    name: "shoal_torrents_running",
    help: "Torrent jobs this poller runs now",
    registers: [registry],
    collect() {
      this.set(num(status()["runningTorrents"]));
    },
  });
  new Gauge({
    name: "shoal_pieces",
    help: "Pieces by state in the claim table, for the torrents this poller owns (and those that ended here in the last minutes)",
    labelNames: ["torrent", "state"],
    registers: [registry],
    collect() {
      this.reset();
      const boards = (status()["pieceStates"] ?? {}) as Record<string, Record<string, unknown>>;
      for (const [torrent, counts] of Object.entries(boards)) {
        for (const state of PIECE_STATES) this.set({ torrent, state }, num(counts[state]));
      }
    },
  });
  // The DHT node (absent when the poller runs without one): its table and its lookups.
  const dht = () => (status()["dht"] ?? {}) as Record<string, unknown>;
  new Gauge({
    name: "shoal_dht_nodes",
    help: "DHT nodes in this poller's routing table",
    registers: [registry],
    collect() {
      this.set(num(dht()["nodes"]));
    },
  });
  new TotalsCounter(registry, "shoal_dht_lookups_total", "DHT get_peers lookups this poller ran", [], (c) => c.observe("", num(dht()["lookups"])));
  new TotalsCounter(registry, "shoal_dht_peers_total", "Peers the DHT lookups returned (repeats included)", [], (c) => c.observe("", num(dht()["peersFound"])));
  const jobCounts = sources.jobCounts;
  if (!jobCounts) return;
  new Gauge({
    name: "shoal_jobs",
    help: "Jobs in the torrents queue by state (the whole queue: every poller reports the same)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      try {
        const c = await jobCounts();
        for (const state of JOB_STATES) this.set({ state }, c[state]);
      } catch (err) {
        // Redis away: no series rather than stale ones, and the rest of the scrape still answers.
        this.reset();
        sources.logger?.debug({ err, op: "metrics.jobCounts" }, "job counts not read");
      }
    },
  });
}
