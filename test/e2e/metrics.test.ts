import { readFile } from "node:fs/promises";
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketProblems, followJob, opsGet, startClusterBackends, type ClusterBackends, type ServiceName, type ServiceRun } from "./cluster-kit.js";
import { parseExposition, samplesOf, seriesNames, sumOf, type Exposition } from "./prometheus-text.js";
import { metricNamesIn } from "./promql-names.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
const PIECE_BYTES = 256 * 1024;
const DASHBOARD = new URL("../../infra/grafana/shoal-dashboard.json", import.meta.url);

/** Every process gets the same part size (the owner opens the writer's plan): 5 MiB, so big.bin takes parts. */
const ENV: NodeJS.ProcessEnv = { SHOAL_S3_PART_SIZE_MIB: "5" };

async function scrape(run: ServiceRun): Promise<Exposition> {
  const r = await opsGet(await run.ready, "/metrics");
  expect(r.status).toBe(200);
  return parseExposition(r.body);
}

interface GrafanaTarget {
  readonly expr?: string;
}
interface GrafanaPanel {
  readonly title: string;
  readonly type: string;
  readonly datasource?: { readonly uid?: string };
  readonly targets?: readonly GrafanaTarget[];
  readonly panels?: readonly GrafanaPanel[];
}
interface GrafanaVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly datasource?: { readonly uid?: string };
}
interface GrafanaDashboard {
  readonly schemaVersion: number;
  readonly templating: { readonly list: readonly GrafanaVariable[] };
  readonly panels: readonly GrafanaPanel[];
}

/** Every PromQL expression of the dashboard (panel targets and variable queries), with where it is. */
function dashboardExprs(d: GrafanaDashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: readonly GrafanaPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : (v.query?.query ?? v.definition ?? "");
    // label_values(metric, label): the metric is the first argument.
    const lv = /^label_values\(\s*([^,]+),/.exec(q);
    out.push({ where: `variable ${v.name}`, expr: lv ? lv[1]! : q });
  }
  return out;
}

describe("reading metric names out of PromQL", () => {
  it("keeps names and drops functions, matchers, groupings, ranges, variables and numbers", () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (op, le) (rate(shoal_s3_request_duration_seconds_bucket{op=~"$op"}[$__rate_interval])))')).toEqual([
      "shoal_s3_request_duration_seconds_bucket",
    ]);
    expect(metricNamesIn('sum by (torrent) (shoal_pieces{torrent=~"$torrent", state="stored"}) / sum by (torrent) (shoal_pieces{state!="skipped"})')).toEqual(["shoal_pieces"]);
    expect(metricNamesIn("-sum(increase(a_total[5m])) * 1e3 + on(instance) group_left(service) b_info offset 1h")).toEqual(["a_total", "b_info"]);
    expect(metricNamesIn("max by (state) (shoal_jobs) > bool 0 unless c")).toEqual(["shoal_jobs", "c"]);
  });
});

/**
 * The series operators rely on, read from real services: every `shoal service` its own process
 * over Redis, NATS with JetStream and an S3 server, downloading a small torrent from libtorrent
 * seeds into the bucket, scraped while it runs and after it completed.
 */
describe("metrics of a cluster's services, and the dashboard built on them", () => {
  let backends: ClusterBackends;
  let swarm: Swarm;
  const runs = {} as Record<ServiceName, ServiceRun>;

  beforeAll(async () => {
    [backends, swarm] = await Promise.all([
      startClusterBackends({ env: ENV }),
      startSwarm({
        payload: {
          name: "metrics-set",
          seed: "metrics-e2e",
          files: [
            { path: "small.bin", size: 1 * MiB + 4321 },
            { path: "big.bin", size: 12 * MiB + 3 },
          ],
        },
        pieceLength: PIECE_BYTES,
        tracker: "http",
        // Slow enough (about 6 s) that the download can be watched while it runs.
        seeds: 2,
        seedUploadRateLimit: 1 * MiB,
      }),
    ]);
    for (const name of ["tracker-poller", "piece-verifier", "storage-writer", "peer-worker"] as const) runs[name] = backends.startService(name);
    await Promise.all(Object.values(runs).map((r) => r.ready));
  }, 180_000);

  afterAll(async () => {
    await backends?.close();
    await swarm?.close();
  }, 60_000);

  it("a job run to completion shows in every service's series with plausible values", async () => {
    const ih = swarm.infoHashHex;
    const pieces = Math.ceil(swarm.payload.files.reduce((n, f) => n + f.size, 0) / PIECE_BYTES);
    const job = followJob(backends, swarm.torrentPath, "metrics/run1", 120_000);

    // While it runs: the owner's pieces by state cover the torrent, the job is active, and the
    // worker shows connections, known peers and claims it holds.
    const seen = { pieces: false, active: false, connections: false, known: false, claimed: false };
    await waitFor(
      async () => {
        const [poller, worker] = await Promise.all([scrape(runs["tracker-poller"]), scrape(runs["peer-worker"])]);
        if (sumOf(poller, "shoal_pieces", { torrent: ih }) === pieces) seen.pieces = true;
        if (sumOf(poller, "shoal_jobs", { state: "active" }) === 1) seen.active = true;
        if ((sumOf(worker, "shoal_peer_connections", { torrent: ih }) ?? 0) >= 1) seen.connections = true;
        if ((sumOf(worker, "shoal_known_peers", { torrent: ih }) ?? 0) >= 1) seen.known = true;
        if ((sumOf(worker, "shoal_claimed_pieces", { torrent: ih }) ?? 0) >= 1) seen.claimed = true;
        return Object.values(seen).every(Boolean);
      },
      { timeoutMs: 60_000, intervalMs: 200, what: "the running job in the poller's and worker's metrics", describe: () => JSON.stringify(seen) },
    );
    const end = await job.finished;
    expect(end.code, end.stderr.slice(-2000)).toBe(0);
    expect(await bucketProblems(backends, swarm, "metrics/run1")).toEqual([]);

    const [poller, verifier, writer, worker] = await Promise.all(
      (["tracker-poller", "piece-verifier", "storage-writer", "peer-worker"] as const).map((n) => scrape(runs[n])),
    );

    // tracker-poller: the owner's last counts stay after the end; the queue holds one completed job.
    expect(sumOf(poller, "shoal_pieces", { torrent: ih, state: "stored" })).toBe(pieces);
    for (const state of ["missing", "claimed", "staged", "verified", "skipped"]) expect(sumOf(poller, "shoal_pieces", { torrent: ih, state }), state).toBe(0);
    expect(Object.fromEntries(samplesOf(poller, "shoal_jobs").map((s) => [s.labels["state"], s.value]))).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      completed: 1,
      failed: 0,
    });
    expect(sumOf(poller, "shoal_torrents_running")).toBe(0);

    // piece-verifier: every piece hashed once, nothing failed, nobody banned; each staged piece came over the bus.
    expect(sumOf(verifier, "shoal_pieces_verified_total")).toBe(pieces);
    expect(sumOf(verifier, "shoal_hash_failures_total")).toBe(0);
    expect(sumOf(verifier, "shoal_peers_banned_total")).toBe(0);
    expect(sumOf(verifier, "shoal_bus_messages_received_total", { subject: "piece_staged" })).toBeGreaterThanOrEqual(pieces);
    expect(sumOf(verifier, "shoal_bus_messages_published_total", { subject: "piece_verified" })).toBe(pieces);

    // storage-writer: pieces stored, nothing held, S3 requests by status and timed.
    expect(sumOf(writer, "shoal_pieces_stored_total")).toBe(pieces);
    expect(sumOf(writer, "shoal_held_pieces")).toBe(0);
    expect(sumOf(writer, "shoal_bus_messages_received_total", { subject: "piece_verified" })).toBeGreaterThanOrEqual(pieces);
    for (const op of ["putObject", "uploadPart", "createMultipartUpload", "completeMultipartUpload"]) {
      const count = sumOf(writer, "shoal_s3_request_duration_seconds_count", { op }) ?? 0;
      expect(count, op).toBeGreaterThan(0);
      expect(sumOf(writer, "shoal_s3_request_duration_seconds_bucket", { op, le: "+Inf" }), op).toBe(count);
      expect(sumOf(writer, "shoal_s3_request_duration_seconds_sum", { op }), op).toBeGreaterThan(0);
      const buckets = samplesOf(writer, "shoal_s3_request_duration_seconds_bucket", { op }).map((s) => s.value);
      expect(buckets, op).toEqual([...buckets].sort((a, b) => a - b));
      // Every attempt is counted once by status, and on Swift every one succeeded.
      expect(sumOf(writer, "shoal_s3_requests_total", { op }), op).toBe(count);
      expect(sumOf(writer, "shoal_s3_requests_total", { op, status: "200" }), op).toBe(count);
    }
    // big.bin (12 MiB in 5 MiB parts) in three parts, small.bin in one PUT.
    expect(sumOf(writer, "shoal_s3_request_duration_seconds_count", { op: "uploadPart" })).toBe(3);
    expect(sumOf(writer, "shoal_s3_written_bytes_total")).toBe(swarm.payload.files.reduce((n, f) => n + f.size, 0));

    // peer-worker: the bytes it downloaded, the pieces it staged on the bus.
    expect(sumOf(worker, "shoal_downloaded_bytes_total", { torrent: ih })).toBeGreaterThanOrEqual(swarm.payload.files.reduce((n, f) => n + f.size, 0));
    expect(sumOf(worker, "shoal_bus_messages_published_total", { subject: "piece_staged" })).toBeGreaterThanOrEqual(pieces);
    expect(sumOf(worker, "shoal_bus_messages_received_total", { subject: "torrent_started" })).toBeGreaterThanOrEqual(1);

    // Declared everywhere even while zero: redeliveries and drops of the bus, process metrics.
    for (const e of [poller, verifier, writer, worker]) {
      for (const name of ["shoal_bus_redeliveries_total", "shoal_bus_messages_dropped_total", "process_cpu_seconds_total", "process_resident_memory_bytes"]) {
        expect(e.types.has(name), name).toBe(true);
      }
      expect(sumOf(e, "process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(sumOf(e, "shoal_bus_messages_dropped_total") ?? 0).toBe(0);
    }
  }, 240_000);

  it("every metric the dashboard queries is one the services export", async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as GrafanaDashboard;
    // Grafana 11 writes schema 39 and migrates older ones on import.
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get("datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(vars.get("torrent")).toMatchObject({ type: "query", datasource: { uid: "${datasource}" } });
    const panels = dashboard.panels.filter((p) => p.type !== "row");
    for (const p of panels) expect(p.datasource?.uid, p.title).toBe("${datasource}");

    const exported = new Set<string>();
    for (const run of Object.values(runs)) for (const n of seriesNames(await scrape(run))) exported.add(n);
    const exprs = dashboardExprs(dashboard);
    expect(exprs.length).toBeGreaterThan(15);
    const unknown: string[] = [];
    const used = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(expr);
      if (names.length === 0) unknown.push(`${where}: no metric in ${expr}`);
      for (const n of names) {
        used.add(n);
        if (!exported.has(n)) unknown.push(`${where}: ${n}`);
      }
    }
    expect(unknown).toEqual([]);
    // The panels the dashboard promises, by what they read.
    for (const n of [
      "shoal_downloaded_bytes_total",
      "shoal_uploaded_bytes_total",
      "shoal_pieces",
      "shoal_peer_connections",
      "shoal_known_peers",
      "shoal_claimed_pieces",
      "shoal_hash_failures_total",
      "shoal_peers_banned_total",
      "shoal_s3_requests_total",
      "shoal_s3_request_duration_seconds_bucket",
      "shoal_s3_written_bytes_total",
      "shoal_bus_messages_published_total",
      "shoal_bus_messages_received_total",
      "shoal_bus_redeliveries_total",
      "shoal_jobs",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
    ]) {
      expect(used.has(n), n).toBe(true);
    }
  }, 60_000);
});
