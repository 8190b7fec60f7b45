import type { AnnounceParams, AnnounceResult } from "@shoal/tracker-proto";

export interface RequestOptions {
  /** Aborts the request; a TrackerError given as the abort reason is what the request rejects with. */
  readonly signal?: AbortSignal;
}

/**
 * A client for one tracker protocol. `announce` resolves with the tracker's answer or rejects
 * with a TrackerError (FAILURE, BAD_RESPONSE, TIMEOUT, NETWORK, ...); it never rejects with
 * anything else.
 */
export interface TrackerClient {
  announce(url: string, params: AnnounceParams, options?: RequestOptions): Promise<AnnounceResult>;
}
