import { systemClock } from "@shoal/service-kit";
import type { Clock } from "@shoal/service-kit";
import {
  ANNOUNCE_MAX_PEERS,
  SCRAPE_MAX_FILES,
  TRACKER_RESPONSE_MAX_BYTES,
  TrackerError,
  buildAnnounceUrl,
  buildScrapeUrl,
  parseAnnounceResponse,
  parseScrapeResponse,
  scrapeUrlOf,
} from "@shoal/tracker-proto";
import type { AnnounceParams, AnnounceResult, ScrapeResult } from "@shoal/tracker-proto";
import { limitedGet } from "./http-get.js";
import type { RequestOptions, TrackerClient } from "./tracker-client.js";

/** BEP 3 leaves timeouts to clients; 15 s matches BEP 15's first retransmit and common clients. */
export const HTTP_TRACKER_TIMEOUT_MS = 15_000;
/** Browsers follow up to 20; a tracker needs one or two (http -> https, moved host). */
export const HTTP_TRACKER_MAX_REDIRECTS = 5;

export interface HttpTrackerClientOptions {
  /** Deadline for one announce or scrape, redirects and body included. */
  readonly timeoutMs?: number;
  /** Body cap, enforced while reading (DESIGN.md: tracker responses <= 1 MiB). */
  readonly maxResponseBytes?: number;
  readonly maxRedirects?: number;
  /** Peers kept from one response. */
  readonly maxPeers?: number;
  readonly userAgent?: string;
  readonly clock?: Clock;
}

/** Announces and scrapes over HTTP(S) (BEP 3, BEP 23, BEP 48) with node:http, no extra dependencies. */
export class HttpTrackerClient implements TrackerClient {
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxRedirects: number;
  readonly #maxPeers: number;
  readonly #userAgent: string;
  readonly #clock: Clock;

  constructor(options: HttpTrackerClientOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? HTTP_TRACKER_TIMEOUT_MS;
    this.#maxBytes = options.maxResponseBytes ?? TRACKER_RESPONSE_MAX_BYTES;
    this.#maxRedirects = options.maxRedirects ?? HTTP_TRACKER_MAX_REDIRECTS;
    this.#maxPeers = options.maxPeers ?? ANNOUNCE_MAX_PEERS;
    this.#userAgent = options.userAgent ?? "shoal/0.1";
    this.#clock = options.clock ?? systemClock;
  }

  /** Rejects with TrackerError: FAILURE, BAD_RESPONSE, HTTP_STATUS, TOO_LARGE, TOO_MANY_REDIRECTS, TIMEOUT, NETWORK, ... */
  async announce(url: string, params: AnnounceParams, options: RequestOptions = {}): Promise<AnnounceResult> {
    const body = await this.#get(buildAnnounceUrl(url, params), options.signal);
    return parseAnnounceResponse(body, { maxBytes: this.#maxBytes, maxPeers: this.#maxPeers });
  }

  /** Scrapes the BEP 48 scrape URL of an announce URL; UNSUPPORTED_SCHEME when it has none. */
  async scrape(url: string, infoHashes: readonly Uint8Array[], options: RequestOptions = {}): Promise<ScrapeResult> {
    const scrapeUrl = scrapeUrlOf(url);
    if (scrapeUrl === undefined) {
      throw new TrackerError("UNSUPPORTED_SCHEME", `tracker ${url} has no scrape URL (its path does not end in announce*)`, {
        context: { url },
      });
    }
    const body = await this.#get(buildScrapeUrl(scrapeUrl, infoHashes), options.signal);
    return parseScrapeResponse(body, { maxBytes: this.#maxBytes, maxFiles: SCRAPE_MAX_FILES });
  }

  #get(url: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
    return limitedGet(url, {
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      maxRedirects: this.#maxRedirects,
      clock: this.#clock,
      userAgent: this.#userAgent,
      ...(signal ? { signal } : {}),
    });
  }
}
