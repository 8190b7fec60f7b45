/**
 * Clamps for the intervals a tracker asks for. The values come from outside, so a silly or
 * hostile tracker must neither make us hammer it (or anyone behind it) nor go silent for days.
 */

/** Below this we would announce more often than any public tracker tolerates. */
export const ANNOUNCE_INTERVAL_MIN_S = 30;
/** Above this a swarm goes stale before we hear from the tracker again. */
export const ANNOUNCE_INTERVAL_MAX_S = 24 * 60 * 60;
/** Used when a tracker sends no interval; the common default of public trackers. */
export const ANNOUNCE_INTERVAL_DEFAULT_S = 30 * 60;
/**
 * Used for the minimum interval when a tracker sends none: extra announces for more peers
 * (`announceNow`) are then at most this frequent.
 */
export const ANNOUNCE_MIN_INTERVAL_DEFAULT_S = 2 * 60;

/** Clamps an interval in seconds into [ANNOUNCE_INTERVAL_MIN_S, ANNOUNCE_INTERVAL_MAX_S]. */
export function clampIntervalS(seconds: number | bigint): number {
  if (typeof seconds === "bigint") {
    if (seconds < BigInt(ANNOUNCE_INTERVAL_MIN_S)) return ANNOUNCE_INTERVAL_MIN_S;
    if (seconds > BigInt(ANNOUNCE_INTERVAL_MAX_S)) return ANNOUNCE_INTERVAL_MAX_S;
    return Number(seconds);
  }
  if (!Number.isFinite(seconds)) return ANNOUNCE_INTERVAL_DEFAULT_S;
  return Math.min(ANNOUNCE_INTERVAL_MAX_S, Math.max(ANNOUNCE_INTERVAL_MIN_S, Math.floor(seconds)));
}

/** The interval pair of a response: both clamped, the minimum never above the regular one. */
export function clampIntervals(
  interval: number | bigint | undefined,
  minInterval: number | bigint | undefined,
): { interval: number; minInterval?: number } {
  const regular = interval === undefined ? ANNOUNCE_INTERVAL_DEFAULT_S : clampIntervalS(interval);
  if (minInterval === undefined) return { interval: regular };
  return { interval: regular, minInterval: Math.min(regular, clampIntervalS(minInterval)) };
}
