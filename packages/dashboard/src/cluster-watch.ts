import type { ClaimTable, JobQueue, JobState } from "@shoal/coordination";
import { isShoalError } from "@shoal/errors";
import type { Logger } from "@shoal/service-kit";
import { summarizeJob, type JobSummary } from "./job-summary.js";
import { encodePieceMap } from "./piece-map.js";
import { rowsFromProgress, type WorkerBoard } from "./worker-board.js";

/** The kinds of event the page listens for. */
export type DashboardEventType = "backends" | "jobs" | "workers" | "pieces";

/** One server-sent event, its data already JSON: built once, written to every client. */
export interface DashboardEvent {
  readonly type: DashboardEventType;
  readonly data: string;
}

export interface ClusterWatchDeps {
  readonly queue: JobQueue;
  readonly claims: ClaimTable;
  /** Workers heard on NATS. */
  readonly workers: WorkerBoard;
  /** Whether Redis and NATS answer right now (their clients reconnect on their own). */
  readonly health: () => { readonly redis: boolean; readonly nats: boolean };
  readonly logger: Logger;
  readonly now: () => number;
}

export interface ClusterWatchOptions {
  readonly refreshMs: number;
  readonly jobLimit: number;
}

/** A job whose piece table is no longer read: the map it had when it ended stays. */
const FINISHED: readonly JobState[] = ["completed", "failed"];

interface MapState {
  readonly workerIndex: Map<string, number>;
  /** The last event sent for this job's map, to send only changes. */
  last: string | undefined;
  /** Set once a read after the job ended is in: nothing moves any more. */
  final: boolean;
}

/**
 * Reads the cluster once per `refreshMs` while anyone watches, and turns what changed into
 * events. Every page shares the reads: one job list, and one read of each running job's piece
 * table (plus one more when a job ends, so its final map is drawn), whatever the number of
 * clients. A failed read marks the backend down and is tried again next round: the page keeps
 * the last state it got and shows the outage.
 */
export class ClusterWatch {
  private readonly listeners = new Set<(e: DashboardEvent) => void>();
  private readonly maps = new Map<string, MapState>();
  /** The latest event of each kind (pieces: of each job), what a new client is sent first. */
  private readonly current = new Map<string, DashboardEvent>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private redisError: string | undefined;
  private lastTickAt = 0;

  constructor(
    private readonly deps: ClusterWatchDeps,
    private readonly options: ClusterWatchOptions,
  ) {}

  /**
   * Adds a listener; it gets the current state at once (each kind's latest event). The first
   * listener after an idle spell starts the reads.
   */
  subscribe(listener: (e: DashboardEvent) => void): () => void {
    this.listeners.add(listener);
    for (const e of this.current.values()) listener(e);
    if (this.listeners.size === 1) this.schedule(0);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get clients(): number {
    return this.listeners.size;
  }

  /** Reads now rather than at the next round (after a submit or cancel), but never twice within a round. */
  poke(): void {
    if (this.listeners.size > 0) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.running) return;
    if (this.timer) clearTimeout(this.timer);
    // Rounds start at least refreshMs apart: pokes and new clients cannot multiply the reads.
    const wait = Math.max(delayMs, this.lastTickAt + this.options.refreshMs - this.deps.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick()
        .catch((err: unknown) => this.deps.logger.error({ err, op: "dashboard.refresh" }, "refresh failed"))
        .finally(() => {
          this.running = undefined;
          if (this.listeners.size > 0) this.schedule(this.options.refreshMs);
        });
    }, wait);
  }

  private async tick(): Promise<void> {
    this.lastTickAt = this.deps.now();
    let jobs: JobSummary[] | undefined;
    try {
      jobs = (await this.deps.queue.list({ limit: this.options.jobLimit })).map(summarizeJob);
      this.redisError = undefined;
    } catch (err) {
      this.redisError = describe(err);
    }
    if (jobs) {
      this.emit("jobs", "jobs", JSON.stringify(jobs));
      await this.readMaps(jobs);
    }
    const health = this.deps.health();
    const fromNats = health.nats;
    const rows = fromNats ? this.deps.workers.rows() : rowsFromProgress((jobs ?? []).filter((j) => j.state === "active"));
    this.emit("workers", "workers", JSON.stringify({ source: fromNats ? "nats" : "progress", workers: rows }));
    const redis = health.redis && this.redisError === undefined;
    this.emit("backends", "backends", JSON.stringify({ redis, nats: health.nats, ...(this.redisError ? { error: this.redisError } : {}) }));
  }

  private async readMaps(jobs: readonly JobSummary[]): Promise<void> {
    const listed = new Set(jobs.map((j) => j.id));
    for (const id of [...this.maps.keys()]) {
      if (!listed.has(id)) {
        this.maps.delete(id);
        this.current.delete(`pieces:${id}`);
      }
    }
    const running = new Set(jobs.filter((j) => !FINISHED.includes(j.state)).map((j) => j.infoHash));
    for (const job of jobs) {
      if (job.infoHash === undefined || job.state === "waiting" || job.state === "delayed") continue;
      let state = this.maps.get(job.id);
      if (state?.final) continue;
      const ended = FINISHED.includes(job.state);
      // A job that ended before anyone watched is read once, unless a newer job of the same
      // torrent runs: the table then belongs to that one (the owner rebuilds it per job).
      if (ended && !state && running.has(job.infoHash)) continue;
      if (!state) this.maps.set(job.id, (state = { workerIndex: new Map(), last: undefined, final: false }));
      let records;
      try {
        records = await this.deps.claims.pieces(job.infoHash);
      } catch (err) {
        // The owner has not built the table yet, or the torrent was deleted: no map to draw.
        if (isShoalError(err) && err.code === "UNKNOWN_TORRENT") continue;
        this.redisError = describe(err);
        return;
      }
      if (ended) state.final = true;
      const map = encodePieceMap(records, state.workerIndex);
      const data = JSON.stringify({ jobId: job.id, ...map });
      if (data !== state.last) {
        state.last = data;
        this.emit(`pieces:${job.id}`, "pieces", data);
      }
    }
  }

  /** Sends an event when its data differs from the last of its key. */
  private emit(key: string, type: DashboardEventType, data: string): void {
    if (this.current.get(key)?.data === data) return;
    const event = { type, data };
    this.current.set(key, event);
    for (const l of this.listeners) l(event);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
