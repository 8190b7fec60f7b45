import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labNamespaces, netnsLabUnsupported, NETNS_LAB_PREFIX, startLabCluster, type LabCluster, type LabJobResult } from "@shoal/testkit";
import { SHOAL_BIN } from "./cli-process.js";

const MiB = 1024 * 1024;

/**
 * Low enough that the services' CPU on a busy shared 2-core machine never decides the rate:
 * three workers move 6 MB/s through verifier, writer and S3, a fraction of what they manage.
 */
const WORKER_RATE_BYTES_PER_SEC = 2_000_000;
/** About 21 s for one worker at the cap: long next to the second between progress reports. */
const PAYLOAD_BYTES = 40 * MiB;
/** Two per worker of the three: each worker owns its peers, and needs some of its own. */
const SEEDS = 6;

const unsupported = netnsLabUnsupported();

/**
 * The claim that sets shoal apart, at test scale: each peer-worker runs in a network namespace
 * of its own behind a link capped both ways, so N workers should download about N times as fast
 * as one. The tracker, seeds, Redis, NATS, S3 and the other services share an uncapped "infra"
 * namespace; nothing of the lab reaches the host's network. Skipped only where a lab cannot
 * exist: not root, or no network namespaces.
 */
describe.skipIf(unsupported !== undefined)(`scale-out over capped links${unsupported === undefined ? "" : ` (skipped: ${unsupported})`}`, () => {
  let cluster: LabCluster | undefined;
  let labPrefix = "";

  beforeAll(async () => {
    cluster = await startLabCluster({
      maxWorkers: 3,
      workerRateBytesPerSec: WORKER_RATE_BYTES_PER_SEC,
      payload: { name: "scale-set", size: PAYLOAD_BYTES, seed: "scale-out-e2e" },
      pieceLength: 256 * 1024,
      seeds: SEEDS,
      shoal: { command: process.execPath, args: [SHOAL_BIN] },
    });
    labPrefix = cluster.lab.name;
  }, 240_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  const env = {
    // Lapsed leases are swept quickly; nothing here depends on it, but a stuck run ends sooner.
    SHOAL_TRACKER_POLLER_LEASE_SWEEP_INTERVAL_MS: "1000",
    SHOAL_PEER_WORKER_HEARTBEAT_TTL_SECONDS: "5",
  };
  const describeRun = (r: LabJobResult): string =>
    `${r.seconds.toFixed(1)} s, workers downloaded ${r.workerBytes.map((b) => (b / MiB).toFixed(1)).join("/")} MiB`;

  it("three capped workers download one torrent at least twice as fast as one, byte-identical into the bucket", async () => {
    const c = cluster!;
    const one = await c.runJob({ workers: 1, prefix: "one", env, timeoutMs: 240_000 });
    expect(one.failure).toBeUndefined();
    const three = await c.runJob({ workers: 3, prefix: "three", env, timeoutMs: 240_000 });
    expect(three.failure).toBeUndefined();

    // Both landed the payload whole, with no upload left open.
    expect(await c.bucketProblems("one")).toEqual([]);
    expect(await c.bucketProblems("three")).toEqual([]);

    // The caps held: one worker cannot beat its link (a tenth of slack for the report grid).
    expect(PAYLOAD_BYTES / one.seconds).toBeLessThan(WORKER_RATE_BYTES_PER_SEC * 1.1);
    // Each of the three took part, and together they were at least twice as fast.
    expect(three.workerBytes).toHaveLength(3);
    for (const b of three.workerBytes) expect(b).toBeGreaterThan(PAYLOAD_BYTES / 10);
    expect(one.seconds / three.seconds, `one worker: ${describeRun(one)}; three: ${describeRun(three)}`).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it("leaves no namespace of the lab behind once closed", async () => {
    await cluster!.close();
    cluster = undefined;
    expect(labNamespaces().filter((ns) => ns.startsWith(labPrefix) || ns.startsWith(`${NETNS_LAB_PREFIX}${process.pid}-`))).toEqual([]);
  }, 60_000);
});
