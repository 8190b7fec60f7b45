import { isWebSeedUrl, MAX_WEB_SEED_URL_BYTES } from "@shoal/metainfo";

/** Parsers for option values whose syntax is part of the command-line contract. */

/**
 * The most file indices a selection may name. Well above the file count any limit of the
 * metainfo parser lets through, and it keeps a typo like `0-99999999999` from allocating.
 */
const MAX_SELECTED_FILES = 1_000_000;

/**
 * A file selection as `shoal info` numbers files: comma-separated indices and inclusive ranges
 * (`0,3-5`). Returns the indices sorted, without duplicates. Whether they exist is checked
 * against the torrent later.
 */
export function parseFileSelection(text: string): number[] {
  const picked = new Set<number>();
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") throw new Error(`empty entry in "${text}" (expected indices like 0,3-5)`);
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a file index or a range like 3-5`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new Error(`"${part}" is too large`);
    if (to < from) throw new Error(`range "${part}" ends before it starts`);
    if (to - from + 1 + picked.size > MAX_SELECTED_FILES) throw new Error(`"${part}" selects more than ${MAX_SELECTED_FILES} files`);
    for (let i = from; i <= to; i++) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b);
}

const RATE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A rate in bytes per second: a number with an optional binary suffix (`500K`, `4M`, `1G`, also
 * `4MiB` and lower case), where `4M` is 4 MiB/s. 0 means unlimited.
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a rate (bytes per second, e.g. 500K, 4M, 1G; 0 = unlimited)`);
  const bytes = Math.floor(Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${text}" is too large`);
  return bytes;
}

/** A job's web seed choice from `--no-web-seeds` and repeated `--web-seed URL`. */
export interface WebSeedChoice {
  readonly fromTorrent: boolean;
  readonly add: readonly string[];
}

/**
 * The web seed options, or undefined when they are the defaults (the torrent's own web seeds,
 * none added). Each added URL must be an absolute http(s) URL without credentials.
 */
export function webSeedChoice(noWebSeeds: boolean | undefined, urls: readonly string[] | undefined): WebSeedChoice | undefined {
  const add = (urls ?? []).map((u) => u.trim());
  for (const url of add) {
    if (!isWebSeedUrl(url)) throw new Error(`"${url}" is not an http(s) URL a web seed can have (http://host/path, no user:password, at most ${MAX_WEB_SEED_URL_BYTES} bytes)`);
  }
  if (noWebSeeds !== true && add.length === 0) return undefined;
  return { fromTorrent: noWebSeeds !== true, add };
}
