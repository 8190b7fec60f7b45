import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BullJobQueue } from "@shoal/queue-bullmq";
import { silentLogger } from "@shoal/service-kit";
import { makeTorrent, startLibtorrentManySeed, startOpentracker, waitFor, type ManySeed, type Opentracker } from "@shoal/testkit";
import { startClusterBackends, type ClusterBackends } from "./cluster-kit.js";

const JOBS = 50;
const CLUSTER_CAP = 5;
const POLLER_CONCURRENCY = 4;

interface Made {
  readonly name: string;
  readonly torrentPath: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * A queue operators can lean on: fifty torrents submitted at once all land in the bucket, while
 * the cluster-wide cap on active torrents holds over two tracker-pollers whose own concurrency
 * would allow more.
 */
describe("cluster: many jobs at once under a cluster-wide cap", () => {
  let backends: ClusterBackends;
  let tracker: Opentracker;
  let seed: ManySeed;
  let dir: string;
  const made: Made[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-many-"));
    [backends, tracker] = await Promise.all([startClusterBackends(), startOpentracker({ infoHashes: [] })]);
    const data = join(dir, "data");
    await mkdir(data, { recursive: true });
    for (let i = 0; i < JOBS; i++) {
      // Sizes from a few pieces to a dozen, so jobs end at different times.
      const size = 32 * 1024 * (2 + (i % 11)) + i * 977;
      const name = `many-${String(i).padStart(2, "0")}.bin`;
      const bytes = randomBytes(size);
      await writeFile(join(data, name), bytes);
      const t = await makeTorrent({ path: join(data, name), out: join(dir, `${name}.torrent`), pieceLength: 32 * 1024, announce: [[tracker.httpAnnounce]] });
      await tracker.allow(t.announceHashes);
      made.push({ name, torrentPath: t.torrentPath, size, sha256: createHash("sha256").update(bytes).digest("hex") });
    }
    seed = await startLibtorrentManySeed({ torrentPaths: made.map((m) => m.torrentPath), dataDir: data });
    await seed.ready;
  }, 240_000);

  afterAll(async () => {
    await backends?.close();
    await seed?.stop();
    await tracker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("fifty torrents submitted at once all land, never more active than the cluster cap", async () => {
    const pollerEnv = { SHOAL_TRACKER_POLLER_CONCURRENCY: String(POLLER_CONCURRENCY), SHOAL_TRACKER_POLLER_MAX_ACTIVE_TORRENTS: String(CLUSTER_CAP) };
    const services = [
      backends.startService("tracker-poller", pollerEnv),
      backends.startService("tracker-poller", pollerEnv),
      backends.startService("piece-verifier"),
      backends.startService("storage-writer"),
      backends.startService("peer-worker"),
      backends.startService("peer-worker"),
    ];
    await Promise.all(services.map((s) => s.ready));

    const queue = new BullJobQueue({ config: { redisUrl: backends.redis.url }, logger: silentLogger() });
    try {
      expect(await queue.activeLimit()).toBe(CLUSTER_CAP);
      // What `shoal submit` queues, for all fifty at once.
      const ids = await Promise.all(
        made.map(async (m) =>
          queue.add({
            source: { kind: "torrent", base64: (await readFile(m.torrentPath)).toString("base64") },
            destination: `s3://${backends.bucket}/many`,
          }),
        ),
      );
      let mostActive = 0;
      let finished = 0;
      await waitFor(
        async () => {
          // One atomic read of the queue's counts: a listing reads each job's state at its own
          // moment and can see a job that just finished next to the one that replaced it.
          const counts = await queue.counts();
          mostActive = Math.max(mostActive, counts.active);
          finished = counts.completed + counts.failed;
          return finished === JOBS;
        },
        { timeoutMs: 420_000, intervalMs: 200, what: `${JOBS} jobs to finish`, describe: async () => `${finished} finished` },
      );
      const jobs = await Promise.all(ids.map((id) => queue.get(id)));
      const failed = jobs.filter((j) => j?.state !== "completed").map((j) => `${j?.id}: ${j?.state} ${j?.failedReason ?? ""}`);
      expect(failed).toEqual([]);
      expect(mostActive).toBeGreaterThan(1);
      expect(mostActive).toBeLessThanOrEqual(CLUSTER_CAP);
    } finally {
      await queue.close();
    }
    const got = await backends.objects("many/");
    const wrong = made.filter((m) => got.get(`many/${m.name}`)?.sha256 !== m.sha256).map((m) => m.name);
    expect(wrong).toEqual([]);
    expect(got.size).toBe(JOBS);
  }, 600_000);
});
