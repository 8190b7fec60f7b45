import http from "node:http";
import https from "node:https";
import type { Claim, ClaimTable } from "@shoal/coordination";
import { pieceLengthOf, webSeedSpans, type InfoDict } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import { ActivePiece } from "./active-piece.js";
import type { RateLimit } from "./bandwidth-limiter.js";
import type { PeerWorkerConfig } from "./config.js";
import type { PieceBufferPool } from "./piece-buffer-pool.js";
import type { RateMeter } from "./rate-meter.js";
import { fetchRange } from "./web-seed-fetch.js";
import { WebSeedHealth } from "./web-seed-health.js";
import { pickWebSeedRun, webSeedRunBytes } from "./web-seed-picker.js";
import { runPiecesFor } from "./run-picker.js";

/** How a web seed is named where peers are (blame, bans, `piece_staged.peers`). */
export const WEB_SEED_ID_PREFIX = "web:";
/** Redirects followed per request: mirrors redirect once or twice (to a CDN, http to https). */
const MAX_REDIRECTS = 5;
/** A request that receives nothing for this long fails: a stalled mirror frees its pieces. */
const IDLE_TIMEOUT_MS = 30_000;
/** How often a source without work looks again (back-offs ending, memory freed, pieces released). */
const PUMP_INTERVAL_MS = 500;

/** What a web seed source needs of the torrent's block scheduler. */
export interface WebSeedHost {
  readonly active: ReadonlyMap<number, ActivePiece>;
  bufferRoom(): number;
  claimable(piece: number): boolean;
  claimedElsewhere(pieces: readonly number[]): void;
  startExternal(p: ActivePiece): void;
  finishExternal(p: ActivePiece): void;
  dropExternal(p: ActivePiece): void;
}

export interface WebSeedSourceOptions {
  /** Requests in flight per web seed, and keep-alive connections per host. */
  readonly requestsPerHost: number;
  /** Bytes one request run covers, in whole pieces (at least one). */
  readonly requestBytes: number;
  /** Claim-run window length in pieces (0: none), so a web seed's runs fill whole windows. */
  readonly runPieces: number;
}

export interface WebSeedSourceDeps {
  readonly claims: ClaimTable;
  readonly workerId: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly pool: PieceBufferPool;
  /** The swarm's byte meter: web seed bytes count in its rates and totals like peer bytes. */
  readonly received: RateMeter;
  readonly limiter?: RateLimit;
  /** A warning a person should see (a web seed failing, retired or banned). */
  readonly onWarning?: (message: string) => void;
}

interface Seed {
  readonly url: string;
  readonly id: string;
  readonly health: WebSeedHealth;
  inFlight: number;
  /** The last piece it delivered: the next run continues after it. */
  after: number | undefined;
  downloadedBytes: number;
  /** Bytes per second one request of it delivered lately (smoothed); undefined until measured. */
  bytesPerSecond: number | undefined;
  lastError: string | undefined;
  readonly controllers: Set<AbortController>;
}

/**
 * The BEP 19 web seeds of one torrent in one worker. They claim runs of pieces through the same
 * claim table as connections (so workers of a cluster share the mirrors' work and never fetch a
 * piece twice), fetch each run with ranged GETs over keep-alive connections, and hand whole
 * pieces to the scheduler, which stages them with the web seed named as their only sender: a
 * mirror serving wrong bytes collects strikes and is banned like a peer.
 */
export class WebSeedSource {
  private readonly seeds: Seed[];
  /** Keep-alive connections, at most `requestsPerHost` per host (HTTP/1.1 allows one request each). */
  private readonly agents: { readonly http: http.Agent; readonly https: https.Agent };
  private readonly timer: NodeJS.Timeout;
  private claiming = false;
  /** After a failed claim-table call, no claim before this time (the next pump interval). */
  private claimsPausedUntil = 0;
  private closed = false;

  constructor(
    private readonly meta: InfoDict,
    urls: readonly string[],
    private readonly opts: WebSeedSourceOptions,
    private readonly host: WebSeedHost,
    private readonly deps: WebSeedSourceDeps,
  ) {
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: opts.requestsPerHost }),
      https: new https.Agent({ keepAlive: true, maxSockets: opts.requestsPerHost }),
    };
    this.seeds = urls.map((url) => ({
      url,
      id: WEB_SEED_ID_PREFIX + url,
      health: new WebSeedHealth(),
      inFlight: 0,
      after: undefined,
      downloadedBytes: 0,
      bytesPerSecond: undefined,
      lastError: undefined,
      controllers: new Set(),
    }));
    this.timer = setInterval(() => this.pump(), PUMP_INTERVAL_MS);
    this.timer.unref();
    queueMicrotask(() => this.pump());
  }

  /** The swarm's web seeds, or undefined when the job has none or this worker turned them off. */
  static forSwarm(
    meta: InfoDict,
    config: PeerWorkerConfig,
    host: WebSeedHost,
    deps: Omit<WebSeedSourceDeps, "limiter"> & { readonly webSeeds?: readonly string[]; readonly limiter?: RateLimit | undefined },
  ): WebSeedSource | undefined {
    const urls = deps.webSeeds ?? [];
    if (!config.webSeeds || urls.length === 0) return undefined;
    const { limiter, ...rest } = deps;
    const opts = {
      requestsPerHost: config.webSeedRequestsPerHost,
      requestBytes: config.webSeedRequestMiB * 1024 * 1024,
      runPieces: runPiecesFor(config.claimRunMiB * 1024 * 1024, meta.pieceLength),
    };
    return new WebSeedSource(meta, urls, opts, host, limiter ? { ...rest, limiter } : rest);
  }

  static isWebSeedId(peer: string): boolean {
    return peer.startsWith(WEB_SEED_ID_PREFIX);
  }

  /** The verifier banned a web seed for bad data: it gets no more requests, its runs are dropped. */
  ban(id: string): void {
    const seed = this.seeds.find((s) => s.id === id);
    if (!seed || seed.health.banned) return;
    seed.health.ban();
    for (const c of seed.controllers) c.abort();
    this.deps.logger.warn({ peer: id }, "web seed banned after repeated hash failures");
    this.deps.onWarning?.(`web seed ${seed.url} banned: its data failed the hash check`);
  }

  /** Stops every request; pieces in flight are given back by the scheduler's own release. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.seeds) for (const c of s.controllers) c.abort();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  status(): Record<string, unknown>[] {
    const now = this.deps.now();
    return this.seeds.map((s) => ({
      url: s.url,
      state: s.health.state(now),
      inFlight: s.inFlight,
      downloadedBytes: s.downloadedBytes,
      ...(s.bytesPerSecond === undefined ? {} : { requestBytesPerSec: Math.round(s.bytesPerSecond) }),
      failures: s.health.failures,
      ...(s.lastError === undefined ? {} : { lastError: s.lastError }),
    }));
  }

  /** Claims a run for the first web seed with room, one claim-table call at a time. */
  private pump(): void {
    const now = this.deps.now();
    if (this.closed || this.claiming || now < this.claimsPausedUntil) return;
    const seed = this.seeds.find((s) => s.health.usable(now) && s.inFlight < this.opts.requestsPerHost);
    if (!seed) return;
    const pieceLength = this.meta.pieceLength;
    const byBudget = Math.floor(this.host.bufferRoom() / pieceLength);
    const runBytes = webSeedRunBytes(seed.bytesPerSecond, this.opts.requestBytes, pieceLength);
    const maxPieces = Math.min(Math.max(1, Math.floor(runBytes / pieceLength)), byBudget);
    const run = pickWebSeedRun({
      pieceCount: this.meta.pieceCount,
      eligible: (i) => this.host.claimable(i),
      maxPieces,
      ...(seed.after === undefined ? {} : { after: seed.after }),
      runPieces: this.opts.runPieces,
    });
    if (run.length === 0) return;
    this.claiming = true;
    seed.inFlight++;
    void this.deps.claims
      .claim(this.meta.infoHashHex, this.deps.workerId, run, run.length)
      .then(
        (got) => this.claimed(seed, run, got),
        (err: unknown) => {
          seed.inFlight--;
          // The table is down (Redis restarting): ask again at the next interval, not at once.
          this.claimsPausedUntil = this.deps.now() + PUMP_INTERVAL_MS;
          this.deps.logger.error({ err, op: "claims.claim" }, "asking the claim table failed");
        },
      )
      .finally(() => {
        this.claiming = false;
        this.pump();
      });
  }

  private claimed(seed: Seed, run: readonly number[], got: readonly Claim[]): void {
    const granted = new Set(got.map((c) => c.piece));
    this.host.claimedElsewhere(run.filter((i) => !granted.has(i)));
    if (this.closed || !seed.health.usable(this.deps.now()) || got.length === 0) {
      seed.inFlight--;
      for (const c of got) void this.deps.claims.release(this.meta.infoHashHex, this.deps.workerId, c).catch(() => undefined);
      return;
    }
    const now = this.deps.now();
    const pieces: ActivePiece[] = [];
    for (const c of got) {
      // Taken up here meanwhile (an end-game duplicate of the claim another worker just gave
      // back): the connections already fetch it, so the claim goes back rather than race them.
      if (this.host.active.has(c.piece)) {
        void this.deps.claims.release(this.meta.infoHashHex, this.deps.workerId, c).catch(() => undefined);
        continue;
      }
      const p = new ActivePiece(c.piece, c.attempt, pieceLengthOf(this.meta, c.piece), true, now);
      p.source = seed.id;
      this.host.startExternal(p);
      pieces.push(p);
    }
    if (pieces.length === 0) {
      seed.inFlight--;
      return;
    }
    void this.fetchPieces(seed, pieces).finally(() => {
      seed.inFlight--;
      this.pump();
    });
  }

  /** Fetches claimed pieces (consecutive ones in one go); what could not be fetched is given back. */
  private async fetchPieces(seed: Seed, pieces: readonly ActivePiece[]): Promise<void> {
    const controller = new AbortController();
    seed.controllers.add(controller);
    const startedAt = this.deps.now();
    let next = 0;
    try {
      while (next < pieces.length) {
        let end = next + 1;
        while (end < pieces.length && pieces[end]!.index === pieces[end - 1]!.index + 1) end++;
        await this.fetchRun(seed, pieces.slice(next, end), controller.signal);
        next = end;
      }
      seed.health.succeeded();
      const bytes = pieces.reduce((n, p) => n + p.length, 0);
      const observed = (bytes * 1000) / Math.max(1, this.deps.now() - startedAt);
      seed.bytesPerSecond = seed.bytesPerSecond === undefined ? observed : (seed.bytesPerSecond + observed) / 2;
    } catch (err) {
      if (!controller.signal.aborted) this.failed(seed, err);
    } finally {
      seed.controllers.delete(controller);
      for (const p of pieces) if (!p.complete) this.host.dropExternal(p);
    }
  }

  /** One run of consecutive pieces: one ranged GET per file it touches, zeros for pad files. */
  private async fetchRun(seed: Seed, run: readonly ActivePiece[], signal: AbortSignal): Promise<void> {
    const pieceLength = this.meta.pieceLength;
    const start = run[0]!.index * pieceLength;
    const length = run.reduce((n, p) => n + p.length, 0);
    let done = 0;
    /** Copies bytes at `offset` of the run into the pieces they belong to. */
    const put = (offset: number, bytes: Buffer | undefined, count: number) => {
      while (count > 0) {
        const k = Math.floor(offset / pieceLength);
        const p = run[k]!;
        const at = offset - k * pieceLength;
        const n = Math.min(count, p.length - at);
        // A piece taken away meanwhile (stored by another worker, the torrent stopped) has no
        // buffer of ours any more: its bytes are dropped.
        if (this.host.active.get(p.index) === p) {
          p.buf ??= this.deps.pool.acquire(p.length);
          if (bytes) bytes.copy(p.buf, at, 0, n);
          else p.buf.fill(0, at, at + n);
        }
        if (bytes) bytes = bytes.subarray(n);
        offset += n;
        count -= n;
      }
    };
    /** Hands over every piece whose bytes are all in. */
    const finishUpTo = (offset: number) => {
      while (done < run.length && done * pieceLength + run[done]!.length <= offset) {
        const p = run[done++]!;
        if (this.host.active.get(p.index) !== p || !p.buf) continue;
        p.receivedWhole(seed.id);
        seed.after = p.index;
        seed.downloadedBytes += p.length;
        this.host.finishExternal(p);
      }
    };
    for (const span of webSeedSpans(this.meta, seed.url, start, length)) {
      if (span.kind === "zeros") {
        put(span.rangeOffset, undefined, span.length);
      } else {
        await fetchRange(span, {
          agents: this.agents,
          maxRedirects: MAX_REDIRECTS,
          idleTimeoutMs: IDLE_TIMEOUT_MS,
          signal,
          ...(this.deps.limiter ? { limiter: this.deps.limiter } : {}),
          onData: (offset, chunk) => {
            this.deps.received.add(chunk.length);
            put(span.rangeOffset + offset, chunk, chunk.length);
            // Each piece goes to the verifier as soon as it is whole, not when the request ends:
            // memory frees sooner, and a request that fails late loses only its last piece.
            finishUpTo(span.rangeOffset + offset + chunk.length);
          },
        });
      }
      finishUpTo(span.rangeOffset + span.length);
    }
  }

  private failed(seed: Seed, err: unknown): void {
    const message = (err as Error).message;
    seed.lastError = message;
    const restMs = seed.health.failed(this.deps.now());
    const retired = seed.health.state(this.deps.now()) === "retired";
    this.deps.logger.warn({ peer: seed.id, err: message, failures: seed.health.failures, restMs }, retired ? "web seed retired for a while" : "web seed request failed; backing off");
    this.deps.onWarning?.(`web seed ${seed.url}: ${message}; ${retired ? "retired" : "retrying"} in ${Math.round(restMs / 1000)} s`);
  }
}
