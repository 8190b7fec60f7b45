import { EventEmitter } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MemoryBus,
  MemoryCatalog,
  MemoryClaimTable,
  checkInvariants,
  type PeerAddress,
  type PieceBus,
  type Claim,
  type StagedRef,
  type TransitionResult,
} from "@shoal/coordination";
import { TorrentInfoCache, torrentLayout } from "@shoal/metainfo";
import * as peerWorker from "@shoal/peer-worker";
import type { PeerWorkerConfig, RunningPeerWorker } from "@shoal/peer-worker";
import type { VerifierConfig } from "@shoal/piece-verifier";
import * as verifier from "@shoal/piece-verifier";
import { createLogger, type Logger, type RunningService } from "@shoal/service-kit";
import * as writer from "@shoal/storage-writer";
import { FsObjectStore } from "@shoal/store-fs";
import type { TorrentFixture } from "./torrent-fixture.js";
import { until } from "./wait.js";

/** Log lines kept for a failure's explanation; older ones are dropped. */
const LOG_LINES_KEPT = 4000;
/** Log lines shown when a wait times out. */
const LOG_LINES_SHOWN = 60;

/**
 * The filesystem store, counting how often each piece is staged and written into the final
 * files, with a gate that holds readers of staged bytes (a verifier with a backlog).
 */
export class CountingStore extends FsObjectStore {
  readonly writes = new Map<number, number>();
  readonly stagings = new Map<number, number>();
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  /** Until `releaseStagedReads`, `getStaged` waits: staged pieces stay staged. */
  holdStagedReads(): void {
    this.gate = new Promise<void>((resolve) => (this.openGate = resolve));
  }

  releaseStagedReads(): void {
    this.gate = undefined;
    this.openGate?.();
    this.openGate = undefined;
  }

  override async putStaged(ref: StagedRef, data: Uint8Array): Promise<void> {
    this.stagings.set(ref.piece, (this.stagings.get(ref.piece) ?? 0) + 1);
    await super.putStaged(ref, data);
  }

  /** Whether staged bytes for `ref` exist, past the gate. */
  async hasStaged(ref: StagedRef): Promise<boolean> {
    return super.getStaged(ref).then(
      () => true,
      () => false,
    );
  }

  override async getStaged(ref: StagedRef): Promise<Buffer> {
    if (this.gate) await this.gate;
    return super.getStaged(ref);
  }

  override async writePiece(infoHash: string, piece: number, data: Uint8Array): Promise<readonly number[]> {
    this.writes.set(piece, (this.writes.get(piece) ?? 0) + 1);
    return super.writePiece(infoHash, piece, data);
  }
}

/**
 * The in-memory claim table, recording the outcome of every `stage` call, and letting a test look
 * at the table after every claim.
 */
export class RecordingClaimTable extends MemoryClaimTable {
  readonly stageResults: { workerId: string; piece: number; attempt: number; result: TransitionResult }[] = [];
  /** Every claim call that was granted something: the worker and the pieces, in grant order. */
  readonly grants: { workerId: string; pieces: number[] }[] = [];
  /** Runs after each claim, before the worker sees the answer: claims are when pieces start. */
  afterClaim: ((infoHash: string) => Promise<void>) | undefined;

  override async claim(infoHash: string, workerId: string, candidates: readonly number[], max: number): Promise<Claim[]> {
    const got = await super.claim(infoHash, workerId, candidates, max);
    if (got.length > 0) this.grants.push({ workerId, pieces: got.map((c) => c.piece) });
    if (this.afterClaim) await this.afterClaim(infoHash);
    return got;
  }

  override async stage(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult> {
    const result = await super.stage(infoHash, workerId, claim);
    this.stageResults.push({ workerId, piece: claim.piece, attempt: claim.attempt, result });
    return result;
  }
}

/**
 * Small, fast defaults for simulations: loopback only, a one-second request timeout so a stalled
 * peer is found within a tick or two, a modest pipeline so several fakes share the work.
 */
export const SIM_WORKER_DEFAULTS: Partial<PeerWorkerConfig> = {
  listenHost: "127.0.0.1",
  listenPort: 0,
  requestTimeoutSeconds: 1,
  connectTimeoutSeconds: 2,
  minPipeline: 8,
  // Most cases start one worker, or start them one by one; a case about workers joining
  // together sets the wait.
  joinSettleMs: 0,
};

export interface ClusterOptions {
  readonly fixture: TorrentFixture;
  /** Peer-worker config for every worker (over SIM_WORKER_DEFAULTS). */
  readonly worker?: Partial<PeerWorkerConfig>;
  readonly verifier?: Partial<VerifierConfig>;
  /** Workers started with the cluster; more can join with `startWorker`. */
  readonly workers?: number;
  /** The claim table's clock (lease expiry); real time when absent. */
  readonly claimsNow?: () => number;
  /** Pieces already in the final files and stored in the claim table before anything starts. */
  readonly stored?: readonly number[];
  readonly random?: () => number;
  /** A limit on the bytes a bus message carries (a NATS server's max_payload); none when absent. */
  readonly busMaxPayloadBytes?: number;
}

/**
 * The services of embedded mode in this process, wired as packages/cli/src/embedded.ts does,
 * with the tracker-poller's part played by the test: catalog record, store layout, piece table,
 * `torrent_started`, then `peers_discovered` with the fakes' addresses.
 */
export class SimCluster {
  readonly claims: RecordingClaimTable;
  /** Piece buffers shared by the workers and the store, as embedded mode shares them. */
  readonly pool: peerWorker.PieceBufferPool;
  readonly bus: MemoryBus;
  readonly catalog = new MemoryCatalog();
  readonly store: CountingStore;
  readonly torrents: TorrentInfoCache;
  readonly workers: RunningPeerWorker[] = [];
  readonly logs: string[] = [];
  readonly busErrors: unknown[] = [];
  /** Emits `stored` (piece) for every piece_stored, `failed` for piece_failed, `banned` for peer_banned. */
  readonly events = new EventEmitter();
  readonly storedOrder: number[] = [];
  /** Which worker staged each piece attempt that reached the verifier, in order. */
  readonly stagedBy: { piece: number; attempt: number; workerId: string }[] = [];
  readonly logger: Logger;
  private readonly services: RunningService[] = [];
  private readonly extraBuses: MemoryBus[] = [];
  private closed = false;

  private constructor(
    readonly fixture: TorrentFixture,
    readonly dir: string,
    private readonly opts: ClusterOptions,
  ) {
    this.claims = new RecordingClaimTable(opts.claimsNow);
    this.bus = new MemoryBus((err) => this.busErrors.push(err), { maxPayloadBytes: opts.busMaxPayloadBytes });
    const workerDefaults = peerWorker.peerWorkerConfigSchema.parse({ ...SIM_WORKER_DEFAULTS, ...opts.worker });
    this.pool = new peerWorker.PieceBufferPool(workerDefaults.maxBufferedMiB * 1024 * 1024);
    this.store = new CountingStore(dir, (buf) => this.pool.release(buf));
    this.torrents = new TorrentInfoCache(async (ih) => this.catalog.get(ih));
    this.logger = createLogger({
      service: "sim",
      level: "debug",
      destination: {
        write: (line: string) => {
          this.logs.push(line);
          if (this.logs.length > LOG_LINES_KEPT) this.logs.splice(0, this.logs.length - LOG_LINES_KEPT);
        },
      },
    });
  }

  get infoHash(): string {
    return this.fixture.infoHashHex;
  }

  static async start(opts: ClusterOptions): Promise<SimCluster> {
    const dir = await mkdtemp(join(tmpdir(), "shoal-sim-"));
    const c = new SimCluster(opts.fixture, dir, opts);
    try {
      await c.setUp();
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** Starts one more peer-worker; `bus` gives it a bus of its own (a worker cut off from the rest). */
  async startWorker(overrides: Partial<PeerWorkerConfig> = {}, bus: PieceBus = this.bus): Promise<RunningPeerWorker> {
    const config = peerWorker.peerWorkerConfigSchema.parse({ ...SIM_WORKER_DEFAULTS, ...this.opts.worker, ...overrides });
    const w = await peerWorker.start(config, {
      claims: this.claims,
      store: this.store,
      bus,
      torrents: this.torrents,
      logger: this.logger,
      pool: this.pool,
      ...(this.opts.random ? { random: this.opts.random } : {}),
    });
    this.workers.push(w);
    return w;
  }

  /** A bus that only the given worker will use: nothing it publishes reaches the verifier. */
  isolatedBus(): MemoryBus {
    const b = new MemoryBus((err) => this.busErrors.push(err));
    this.extraBuses.push(b);
    return b;
  }

  /** Publishes torrent_started and waits until every worker on `bus` has joined the torrent. */
  async begin(workers: readonly RunningPeerWorker[] = this.workers, bus: PieceBus = this.bus): Promise<void> {
    await bus.publish("torrent_started", { infoHash: this.infoHash });
    await until(() => workers.every((w) => w.swarmStatus(this.infoHash) !== undefined), {
      timeoutMs: 5_000,
      what: "every worker to join the torrent",
      describe: () => this.describe(),
    });
  }

  async announce(peers: readonly PeerAddress[], bus: PieceBus = this.bus): Promise<void> {
    await bus.publish("peers_discovered", { infoHash: this.infoHash, peers: [...peers], source: "sim" });
  }

  /** Waits until every piece is stored; the error lists the piece states and the log tail. */
  async waitComplete(timeoutMs: number): Promise<void> {
    await until(async () => (await this.claims.counts(this.infoHash)).stored === this.fixture.pieceCount, {
      timeoutMs,
      what: `all ${this.fixture.pieceCount} pieces stored`,
      wakeOn: [[this.events, "stored"]],
      describe: () => this.describe(),
    });
  }

  /** What the tracker-poller does at the end: size the files and tell everyone the torrent is done. */
  async finish(): Promise<void> {
    await this.store.finalize(this.infoHash);
    await this.bus.publish("torrent_finished", { infoHash: this.infoHash, reason: "completed" });
  }

  /** Files on disk whose bytes differ from the payload. */
  async mismatches(): Promise<string[]> {
    const bad: string[] = [];
    for (const f of this.fixture.files) {
      const path = join(this.dir, this.fixture.meta.name, ...f.path);
      const want = this.fixture.payload.subarray(f.offset, f.offset + f.length);
      const got = await readFile(path).catch(() => undefined);
      if (!got) bad.push(`${path}: missing`);
      else if (!got.equals(want)) bad.push(`${path}: ${got.length} bytes differ from the ${want.length}-byte payload`);
    }
    return bad;
  }

  async invariants(liveWorkers?: ReadonlySet<string>): Promise<string[]> {
    return checkInvariants(await this.claims.pieces(this.infoHash), liveWorkers);
  }

  /** Peer-worker log lines (JSON) whose `msg` matches. */
  logsMatching(re: RegExp): Record<string, unknown>[] {
    return this.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => typeof o["msg"] === "string" && re.test(o["msg"]));
  }

  async describe(): Promise<string> {
    const counts = await this.claims.counts(this.infoHash).catch(() => undefined);
    const swarms = this.workers.map((w) => `${w.workerId}: ${JSON.stringify(w.swarmStatus(this.infoHash))}`);
    return [
      `counts ${JSON.stringify(counts)}`,
      ...swarms,
      `bus errors: ${this.busErrors.map(String).join("; ") || "none"}`,
      "log tail:",
      ...this.logs.slice(-LOG_LINES_SHOWN),
    ].join("\n");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.workers) await w.stop().catch(() => undefined);
    for (const s of this.services) await s.stop().catch(() => undefined);
    // A held verifier would keep the bus from draining.
    this.store.releaseStagedReads();
    await this.bus.close();
    for (const b of this.extraBuses) await b.close();
    await this.store.close();
    await this.claims.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async setUp(): Promise<void> {
    const { fixture } = this;
    const ih = this.infoHash;
    await this.catalog.put({ infoHash: ih, infoBytes: fixture.infoBytes, announceTiers: [], destination: this.dir, private: false });
    await this.store.openTorrent(torrentLayout(fixture.meta));
    const stored = this.opts.stored ?? [];
    for (const i of stored) await this.store.writePiece(ih, i, fixture.piece(i));
    this.store.writes.clear();
    await this.claims.createTorrent(ih, fixture.pieceCount, stored);
    const deps = { claims: this.claims, store: this.store, bus: this.bus, torrents: this.torrents, logger: this.logger };
    this.services.push(await verifier.start(verifier.verifierConfigSchema.parse({ ...this.opts.verifier }), deps));
    this.services.push(await writer.start(writer.writerConfigSchema.parse({}), deps));
    await this.bus.subscribe("piece_stored", ih, (m) => {
      this.storedOrder.push(m.piece);
      this.events.emit("stored", m.piece);
    });
    // A queue group of its own sees every staged piece, beside the verifier's group.
    await this.bus.subscribe("piece_staged", ih, (m) => void this.stagedBy.push({ piece: m.piece, attempt: m.attempt, workerId: m.workerId }), {
      group: "sim-observer",
    });
    await this.bus.subscribe("piece_failed", ih, (m) => void this.events.emit("failed", m.piece, m.peers));
    await this.bus.subscribe("peer_banned", ih, (m) => void this.events.emit("banned", m.peer));
    for (let i = 0; i < (this.opts.workers ?? 1); i++) await this.startWorker();
  }
}

/** Sockets and servers take a turn or two of the event loop to close after `destroy`. */
const SOCKETS_CLOSE_WITHIN_MS = 2_000;

/** Resolves once this process holds no TCP socket or server: what a clean test leaves behind. */
export function allSocketsClosed(): Promise<void> {
  const open = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP"));
  return until(() => open().length === 0, {
    timeoutMs: SOCKETS_CLOSE_WITHIN_MS,
    what: "every socket and server of the test to close",
    describe: () => `still open: ${open().join(", ")}`,
  });
}

/** Runs registered clean-ups in reverse order; one failing does not stop the others. */
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];

  add<T>(value: T, step: (value: T) => unknown): T {
    this.steps.push(() => step(value));
    return value;
  }

  async run(): Promise<void> {
    while (this.steps.length > 0) {
      try {
        await this.steps.pop()!();
      } catch {
        // A clean-up that fails must not leave the rest of the resources open.
      }
    }
  }
}
