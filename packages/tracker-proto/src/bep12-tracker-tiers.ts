/**
 * Multitracker tiers (BEP 12). Trackers within a tier are shuffled once, tried in order, and one
 * that answers moves to the front of its tier so it is asked first next time. Tiers are tried
 * in the order the torrent lists them.
 */

/** Schemes we have a client for. WebSocket trackers (ws:, wss:) serve WebRTC peers we cannot dial. */
export const SUPPORTED_TRACKER_SCHEMES: readonly string[] = ["http", "https", "udp"];

/** A tracker URL left out of the tiers, and why. */
export interface IgnoredTracker {
  readonly url: string;
  readonly reason: string;
}

/** Returns a number in [0, 1); injected so the shuffle is deterministic in tests. */
export type RandomFn = () => number;

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/?#\s]+/;

export class TrackerTiers {
  readonly #tiers: string[][];
  /** Trackers that were dropped while building the tiers: unsupported scheme, malformed, duplicate. */
  readonly ignored: readonly IgnoredTracker[];

  private constructor(tiers: string[][], ignored: IgnoredTracker[]) {
    this.#tiers = tiers;
    this.ignored = ignored;
  }

  /**
   * Builds tiers from a torrent's `announce-list` (or `[[announce]]` when it has none).
   * URLs are trimmed and deduplicated across all tiers (the first occurrence wins); empty
   * tiers are dropped; each tier is shuffled with `random` (Fisher-Yates).
   */
  static fromAnnounceList(announceList: readonly (readonly string[])[], random: RandomFn): TrackerTiers {
    const seen = new Set<string>();
    const ignored: IgnoredTracker[] = [];
    const tiers: string[][] = [];
    for (const tier of announceList) {
      const kept: string[] = [];
      for (const raw of tier) {
        const url = raw.trim();
        const reason = unsupportedReason(url) ?? (seen.has(url) ? "duplicate of an earlier tracker" : undefined);
        if (reason !== undefined) {
          ignored.push({ url, reason });
          continue;
        }
        seen.add(url);
        kept.push(url);
      }
      if (kept.length > 0) tiers.push(shuffle(kept, random));
    }
    return new TrackerTiers(tiers, ignored);
  }

  /** The tiers in their current order (copies). */
  tiers(): string[][] {
    return this.#tiers.map((tier) => [...tier]);
  }

  /** Every tracker, tier by tier, in the order they should be tried. */
  ordered(): string[] {
    return this.#tiers.flat();
  }

  [Symbol.iterator](): Iterator<string> {
    return this.ordered()[Symbol.iterator]();
  }

  get size(): number {
    return this.#tiers.reduce((n, tier) => n + tier.length, 0);
  }

  /** Moves a tracker that answered to the front of its tier. Unknown URLs are ignored. */
  promote(url: string): void {
    for (const tier of this.#tiers) {
      const at = tier.indexOf(url);
      if (at > 0) {
        tier.splice(at, 1);
        tier.unshift(url);
      }
      if (at >= 0) return;
    }
  }
}

function unsupportedReason(url: string): string | undefined {
  const match = SCHEME.exec(url);
  if (!match) return "not a URL with a scheme and host";
  const scheme = match[1]!.toLowerCase();
  if (!SUPPORTED_TRACKER_SCHEMES.includes(scheme)) return `scheme ${scheme}: is not supported`;
  return undefined;
}

function shuffle<T>(items: T[], random: RandomFn): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    // A broken random source (NaN, out of range) must not lose or duplicate trackers.
    const r = random();
    const j = Number.isFinite(r) ? Math.min(i, Math.max(0, Math.floor(r * (i + 1)))) : i;
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
