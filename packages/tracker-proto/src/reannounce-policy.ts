import { ANNOUNCE_INTERVAL_DEFAULT_S, ANNOUNCE_MIN_INTERVAL_DEFAULT_S } from "./announce-interval.js";

/**
 * When to announce next, as a pure reducer over announce outcomes: (state, outcome, now) ->
 * state. The caller owns the clock and the timers; this only does the arithmetic.
 *
 * - After a success the tracker's interval rules; extra announces (`announceNow`) must wait
 *   for its minimum interval.
 * - After a failed round the delay doubles from 15 s up to 30 min; a tracker that refused us
 *   (a failure reason, not retryable) is not asked again for at least 5 min.
 */

/** The first retry after a failed round: long enough for a restarting tracker to come back. */
export const ANNOUNCE_BACKOFF_BASE_MS = 15_000;
/** Retries never wait longer than this, so a tracker that comes back is used within half an hour. */
export const ANNOUNCE_BACKOFF_MAX_MS = 30 * 60_000;
/** A refusal is a decision about us; asking again sooner would only be refused again. */
export const ANNOUNCE_REFUSED_MIN_DELAY_MS = 5 * 60_000;

export interface ReannounceState {
  /** The last regular interval a tracker asked for. */
  readonly intervalMs: number;
  /** The last minimum interval a tracker asked for (or the default). */
  readonly minIntervalMs: number;
  /** When the last announce round finished (success or failure); undefined before the first. */
  readonly lastAnnounceAtMs: number | undefined;
  /** Failed rounds in a row. */
  readonly failures: number;
  /** When the next regular announce is due. */
  readonly nextAnnounceAtMs: number;
}

/** The state before the first announce, which is due at once. */
export function initialReannounceState(nowMs: number): ReannounceState {
  return {
    intervalMs: ANNOUNCE_INTERVAL_DEFAULT_S * 1000,
    minIntervalMs: ANNOUNCE_MIN_INTERVAL_DEFAULT_S * 1000,
    lastAnnounceAtMs: undefined,
    failures: 0,
    nextAnnounceAtMs: nowMs,
  };
}

/** The back-off after `failures` failed rounds in a row (failures >= 1). */
export function backoffDelayMs(failures: number, retryable: boolean): number {
  const exponential = Math.min(ANNOUNCE_BACKOFF_MAX_MS, ANNOUNCE_BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return retryable ? exponential : Math.max(exponential, ANNOUNCE_REFUSED_MIN_DELAY_MS);
}

/** A tracker answered: follow its (already clamped) intervals, in seconds. */
export function afterAnnounceSuccess(
  state: ReannounceState,
  nowMs: number,
  response: { readonly interval: number; readonly minInterval?: number },
): ReannounceState {
  const intervalMs = response.interval * 1000;
  const minIntervalMs = Math.min(intervalMs, (response.minInterval ?? ANNOUNCE_MIN_INTERVAL_DEFAULT_S) * 1000);
  return { ...state, intervalMs, minIntervalMs, lastAnnounceAtMs: nowMs, failures: 0, nextAnnounceAtMs: nowMs + intervalMs };
}

/** No tracker answered in a round; `retryable` is false when every tracker refused us. */
export function afterAnnounceFailure(state: ReannounceState, nowMs: number, retryable: boolean): ReannounceState {
  const failures = state.failures + 1;
  return { ...state, lastAnnounceAtMs: nowMs, failures, nextAnnounceAtMs: nowMs + backoffDelayMs(failures, retryable) };
}

/**
 * The earliest time an extra announce (asking for more peers) may go out: after the minimum
 * interval since the last one, or when the back-off ends while failing.
 */
export function earliestExtraAnnounceAtMs(state: ReannounceState): number {
  if (state.lastAnnounceAtMs === undefined) return state.nextAnnounceAtMs;
  if (state.failures > 0) return state.nextAnnounceAtMs;
  return Math.min(state.nextAnnounceAtMs, state.lastAnnounceAtMs + state.minIntervalMs);
}
