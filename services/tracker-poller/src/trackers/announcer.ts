import { systemClock } from "@shoal/service-kit";
import type { Clock, Random, TimerHandle } from "@shoal/service-kit";
import {
  TrackerError,
  TrackerTiers,
  afterAnnounceFailure,
  afterAnnounceSuccess,
  earliestExtraAnnounceAtMs,
  initialReannounceState,
} from "@shoal/tracker-proto";
import type {
  AnnounceEvent,
  AnnounceParams,
  AnnounceResult,
  ByteCount,
  IgnoredTracker,
  Peer,
  ReannounceState,
} from "@shoal/tracker-proto";
import { asTrackerError } from "./abort.js";
import type { TrackerClient } from "./tracker-client.js";

/** What most clients ask for; enough to fill a worker's connection slots without flooding it. */
export const ANNOUNCE_NUMWANT_DEFAULT = 80;
/**
 * How long one tracker gets within a round before the next one is tried (BEP 12). It lets a UDP
 * tracker have its first two retransmit windows (15 s + 30 s) but keeps a dead tracker from
 * holding up fail-over for BEP 15's full two hours.
 */
export const ANNOUNCE_TRACKER_TIMEOUT_MS = 60_000;
/** `stopped` is a courtesy; waiting longer than this would make Ctrl-C feel stuck. */
export const ANNOUNCE_STOP_TIMEOUT_MS = 3_000;

export interface AnnounceStats {
  readonly uploaded: ByteCount;
  readonly downloaded: ByteCount;
  readonly left: ByteCount;
}

export interface AnnouncerOptions {
  /** The torrent's announce-list tiers (or [[announce]]). */
  readonly tiers: readonly (readonly string[])[];
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /** The TCP port peers can reach us on. */
  readonly port: number;
  /** Read before every announce. */
  readonly stats: () => AnnounceStats;
  /** Client for http: and https: trackers. */
  readonly http?: TrackerClient;
  /** Client for udp: trackers. */
  readonly udp?: TrackerClient;
  readonly clock?: Clock;
  /** Numbers in [0, 1): the tier shuffle and the announce key. */
  readonly random?: Random;
  readonly numwant?: number;
  readonly trackerTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** Peers from a tracker's answer; `source` is the tracker URL. Must not throw. */
  readonly onPeers?: (peers: readonly Peer[], source: string) => void;
  /** A tracker's `warning message`. Must not throw. */
  readonly onWarning?: (url: string, message: string) => void;
  /** A failed announce to one tracker (the round goes on to the next). Must not throw. */
  readonly onError?: (url: string, err: TrackerError) => void;
}

type CompletedState = "not_yet" | "pending" | "sent";

/**
 * Announces one torrent to its trackers (BEP 3, BEP 12 tiers): `started` first, then regular
 * announces at the tracker's interval, back-off when a whole round fails, `completed` once and
 * `stopped` on the way out. One round tries trackers tier by tier until one answers; that one
 * moves to the front of its tier. Decisions about timing live in the pure re-announce policy.
 */
export class Announcer {
  readonly #options: AnnouncerOptions;
  readonly #clock: Clock;
  readonly #tiers: TrackerTiers;
  readonly #key: string;
  readonly #startedUrls = new Set<string>();
  readonly #trackerIds = new Map<string, Uint8Array>();
  readonly #inFlight = new Set<AbortController>();
  #policy: ReannounceState;
  #timer: TimerHandle | undefined;
  #timerAtMs: number | undefined;
  #busy: Promise<void> | undefined;
  #running = false;
  #stopping: Promise<void> | undefined;
  #completed: CompletedState = "not_yet";

  constructor(options: AnnouncerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    this.#tiers = TrackerTiers.fromAnnounceList(options.tiers, random);
    // BEP 3 `key`: random per client session and constant across its announces, so a tracker
    // can recognise us after an IP change.
    this.#key = (Math.floor(random() * 0x1_0000_0000) >>> 0).toString(16).padStart(8, "0");
    this.#policy = initialReannounceState(this.#clock.now());
  }

  /** Trackers left out of the tiers (unsupported scheme, malformed, duplicate) and why. */
  get ignoredTrackers(): readonly IgnoredTracker[] {
    return this.#tiers.ignored;
  }

  /** The tiers in their current order (answering trackers first). */
  get tiers(): string[][] {
    return this.#tiers.tiers();
  }

  /** Sends `started` and keeps announcing until `stop()`. Resolves after the first round. */
  start(): Promise<void> {
    if (this.#running || this.#stopping) return this.#busy ?? Promise.resolve();
    this.#running = true;
    return this.#runRound();
  }

  /**
   * Asks for more peers now. Rate-limited by the tracker's minimum interval (and by back-off
   * after failures): when too early, the next announce is moved up to the earliest allowed
   * time instead, and this resolves at once.
   */
  announceNow(): Promise<void> {
    if (!this.#running || this.#stopping) return Promise.resolve();
    if (this.#busy) return this.#busy;
    const earliest = earliestExtraAnnounceAtMs(this.#policy);
    if (this.#clock.now() >= earliest) return this.#runRound();
    if (this.#timerAtMs === undefined || earliest < this.#timerAtMs) this.#setTimer(earliest);
    return Promise.resolve();
  }

  /**
   * Sends `completed` once (retried with later rounds until a tracker takes it). Before
   * `start()` there is nothing to report: the first `started` already says left = 0.
   */
  completed(): Promise<void> {
    if (this.#completed !== "not_yet" || this.#stopping) return Promise.resolve();
    if (!this.#running) {
      this.#completed = "sent";
      return Promise.resolve();
    }
    this.#completed = "pending";
    return this.#runRound();
  }

  /**
   * Stops announcing: clears timers, cancels requests in flight and sends `stopped` to every
   * tracker that got `started`, waiting at most `stopTimeoutMs` for them.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#clearTimer();
    const stopTimeoutMs = this.#options.stopTimeoutMs ?? ANNOUNCE_STOP_TIMEOUT_MS;
    for (const controller of this.#inFlight) controller.abort(new TrackerError("ABORTED", "announcer stopped"));
    if (this.#busy) await this.#busy.catch(() => undefined);
    const urls = [...this.#startedUrls];
    await Promise.all(
      urls.map((url) =>
        this.#announceTo(url, "stopped", 0, stopTimeoutMs).catch((err: unknown) => {
          this.#options.onError?.(url, asTrackerError(err, url));
        }),
      ),
    );
  }

  async #runRound(): Promise<void> {
    while (this.#busy) await this.#busy.catch(() => undefined);
    if (this.#stopping) return;
    this.#clearTimer();
    const round = this.#round().finally(() => {
      this.#busy = undefined;
      this.#scheduleNext();
    });
    this.#busy = round;
    return round;
  }

  /** Tries trackers tier by tier until one answers (BEP 12). */
  async #round(): Promise<void> {
    const errors: TrackerError[] = [];
    for (const url of this.#tiers.ordered()) {
      const event: AnnounceEvent | undefined =
        this.#completed === "pending" ? "completed" : this.#startedUrls.has(url) ? undefined : "started";
      let result: AnnounceResult;
      try {
        result = await this.#announceTo(url, event, this.#options.numwant ?? ANNOUNCE_NUMWANT_DEFAULT);
      } catch (err) {
        if (this.#stopping) return;
        const error = asTrackerError(err, url);
        errors.push(error);
        this.#options.onError?.(url, error);
        continue;
      }
      // Recorded even when stop() raced this answer, so that tracker still gets `stopped`.
      this.#startedUrls.add(url);
      if (this.#stopping) return;
      if (result.trackerId) this.#trackerIds.set(url, result.trackerId);
      if (event === "completed") this.#completed = "sent";
      this.#tiers.promote(url);
      this.#policy = afterAnnounceSuccess(this.#policy, this.#clock.now(), result);
      if (result.warning !== undefined) this.#options.onWarning?.(url, result.warning);
      this.#options.onPeers?.(result.peers, url);
      return;
    }
    if (errors.length > 0) {
      this.#policy = afterAnnounceFailure(this.#policy, this.#clock.now(), errors.some((e) => e.retryable));
    }
  }

  async #announceTo(url: string, event: AnnounceEvent | undefined, numwant: number, timeoutMs?: number): Promise<AnnounceResult> {
    const client = this.#clientFor(url);
    const limitMs = timeoutMs ?? this.#options.trackerTimeoutMs ?? ANNOUNCE_TRACKER_TIMEOUT_MS;
    const trackerId = this.#trackerIds.get(url);
    const params: AnnounceParams = {
      infoHash: this.#options.infoHash,
      peerId: this.#options.peerId,
      port: this.#options.port,
      ...this.#options.stats(),
      numwant,
      key: this.#key,
      compact: true,
      ...(event !== undefined ? { event } : {}),
      ...(trackerId !== undefined ? { trackerId } : {}),
    };
    const controller = new AbortController();
    const timer = this.#clock.setTimeout(() => {
      controller.abort(new TrackerError("TIMEOUT", `tracker ${url} did not answer within ${limitMs} ms`, { context: { url } }));
    }, limitMs);
    this.#inFlight.add(controller);
    try {
      return await client.announce(url, params, { signal: controller.signal });
    } finally {
      this.#clock.clearTimer(timer);
      this.#inFlight.delete(controller);
    }
  }

  #clientFor(url: string): TrackerClient {
    const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
    const client = scheme === "udp" ? this.#options.udp : scheme === "http" || scheme === "https" ? this.#options.http : undefined;
    if (client === undefined) {
      throw new TrackerError("UNSUPPORTED_SCHEME", `no client for ${scheme}: trackers (${url})`, { context: { url, scheme } });
    }
    return client;
  }

  #scheduleNext(): void {
    if (!this.#running || this.#stopping || this.#tiers.size === 0) return;
    this.#setTimer(this.#policy.nextAnnounceAtMs);
  }

  #setTimer(atMs: number): void {
    this.#clearTimer();
    this.#timerAtMs = atMs;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAtMs = undefined;
      void this.#runRound();
    }, Math.max(0, atMs - this.#clock.now()));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = undefined;
  }
}
