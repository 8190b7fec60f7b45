/** Bounds on what one decode may cost; every decode of untrusted bytes runs under them. */
export interface BencodeLimits {
  /** Deepest nesting of lists and dicts; the outermost container is depth 1. */
  readonly maxDepth: number;
  /** Most values plus dict keys in one document. */
  readonly maxTokens: number;
  /** Longest single byte string. */
  readonly maxStringBytes: number;
}

export const DEFAULT_BENCODE_LIMITS: BencodeLimits = Object.freeze({
  // Real torrents and DHT/PEX messages nest fewer than 10 levels; 100 leaves room for odd tools.
  maxDepth: 100,
  // A torrent with about 200k files needs under 2M tokens; more is a memory attack.
  maxTokens: 2_000_000,
  // The largest legitimate string is a `pieces` field (20 bytes per piece); 64 MiB covers 3M pieces.
  maxStringBytes: 64 * 1024 * 1024,
});

/**
 * Integers with more digits are refused: no BitTorrent field needs more than 20, and the cap
 * keeps BigInt parsing cheap however long the digit run in hostile input is.
 */
export const MAX_INTEGER_DIGITS = 1000;

export function resolveLimits(partial: Partial<BencodeLimits> | undefined): BencodeLimits {
  if (partial === undefined) return DEFAULT_BENCODE_LIMITS;
  return { ...DEFAULT_BENCODE_LIMITS, ...partial };
}
