import { rm } from "node:fs/promises";
import { SYSTEM_PYTHON, requirePythonLibtorrent } from "./executables.js";
import { pyScript } from "./package-root.js";
import { runProcess } from "./run-process.js";
import { TestkitError } from "./testkit-error.js";
import { announceHashes, readTorrentFile } from "./torrent-file.js";
import type { TorrentSummary } from "./torrent-file.js";

/**
 * Which real tool writes the .torrent. Different writers order keys, place padding and name
 * things differently; e2e tests use several so the downloader meets each style.
 */
export const TORRENT_TOOLS = ["mktorrent", "libtorrent", "libtorrent-hybrid", "transmission"] as const;
export type TorrentTool = (typeof TORRENT_TOOLS)[number];

export interface MakeTorrentOptions {
  /** The payload file or top directory; its base name becomes the torrent name. */
  readonly path: string;
  /** Where the .torrent is written (replaced if it exists). */
  readonly out: string;
  /** Announce tiers (BEP 12): the outer list is tried in order, URLs in a tier are equals. */
  readonly announce?: readonly (readonly string[])[];
  /** Bytes; a power of two up to 64 MiB, from 32 KiB for mktorrent and 16 KiB for libtorrent. */
  readonly pieceLength: number;
  /** Default "mktorrent". */
  readonly tool?: TorrentTool;
  readonly private?: boolean;
  /** BEP 19 `url-list` entries (mktorrent and libtorrent tools only). */
  readonly webSeeds?: readonly string[];
}

export interface MadeTorrent {
  readonly torrentPath: string;
  /** v1 info hash (SHA-1), lowercase hex. */
  readonly infoHashHex: string;
  /** v2 info hash (SHA-256, full length) for "libtorrent-hybrid". */
  readonly infoHashV2Hex?: string;
  /** Every 20-byte hash clients announce it under: whitelist all of them in opentracker. */
  readonly announceHashes: readonly string[];
  readonly summary: TorrentSummary;
}

/** 16 KiB: a piece must hold at least one block. */
const MIN_PIECE_BYTES = 16 * 1024;
/** mktorrent 1.1 takes exponents 15..28 only. */
const MKTORRENT_MIN_PIECE_BYTES = 32 * 1024;
/** 64 MiB: beyond what any client accepts comfortably and far beyond test payloads. */
const MAX_PIECE_BYTES = 64 * 1024 * 1024;
/** Hashing a test payload takes well under a second; a minute means the tool hangs. */
const TOOL_TIMEOUT_MS = 60_000;

export async function makeTorrent(opts: MakeTorrentOptions): Promise<MadeTorrent> {
  const { pieceLength } = opts;
  const tool = opts.tool ?? "mktorrent";
  const min = tool === "mktorrent" ? MKTORRENT_MIN_PIECE_BYTES : MIN_PIECE_BYTES;
  const powerOfTwo = Number.isSafeInteger(pieceLength) && pieceLength > 0 && (pieceLength & (pieceLength - 1)) === 0;
  if (!powerOfTwo || pieceLength < min || pieceLength > MAX_PIECE_BYTES) {
    throw new TestkitError(
      "BAD_ARGUMENT",
      `piece length ${pieceLength} is not a power of two from ${min} to ${MAX_PIECE_BYTES} (${tool})`,
      { context: { pieceLength, tool } },
    );
  }
  const tiers = (opts.announce ?? []).filter((t) => t.length > 0);
  await rm(opts.out, { force: true });
  let toolV1: string | undefined;
  if (tool === "mktorrent") {
    const args = ["-d", "-l", String(Math.log2(pieceLength)), "-o", opts.out];
    // mktorrent: one -a per tier, URLs of one tier separated by commas.
    for (const tier of tiers) args.push("-a", tier.join(","));
    if (opts.private === true) args.push("-p");
    for (const url of opts.webSeeds ?? []) args.push("-w", url);
    args.push(opts.path);
    await runProcess("mktorrent", args, { timeoutMs: TOOL_TIMEOUT_MS, check: true });
  } else if (tool === "transmission") {
    if ((opts.webSeeds ?? []).length > 0) {
      throw new TestkitError("BAD_ARGUMENT", "transmission-create in Debian bookworm cannot add web seeds; use mktorrent or libtorrent", { context: { tool } });
    }
    // transmission-create: piece size in KiB; every -t URL becomes a tier of its own.
    const args = ["-o", opts.out, "-s", String(pieceLength / 1024)];
    for (const url of tiers.flat()) args.push("-t", url);
    if (opts.private === true) args.push("-p");
    args.push(opts.path);
    await runProcess("transmission-create", args, { timeoutMs: TOOL_TIMEOUT_MS, check: true });
  } else {
    await requirePythonLibtorrent();
    const args = [pyScript("make_torrent.py"), "--path", opts.path, "--out", opts.out, "--piece-length", String(pieceLength)];
    tiers.forEach((tier, i) => tier.forEach((url) => args.push("--tracker", String(i), url)));
    if (opts.private === true) args.push("--private");
    for (const url of opts.webSeeds ?? []) args.push("--web-seed", url);
    if (tool === "libtorrent-hybrid") args.push("--hybrid");
    const res = await runProcess(SYSTEM_PYTHON, args, { timeoutMs: TOOL_TIMEOUT_MS, check: true });
    toolV1 = (JSON.parse(res.stdout) as { v1: string }).v1;
  }
  const summary = await readTorrentFile(opts.out);
  // libtorrent reports the hash it computed; a different one here would mean the info
  // dictionary's bytes were read wrongly.
  if (toolV1 !== undefined && toolV1 !== summary.infoHashHex) {
    throw new TestkitError("BAD_INPUT", `info hash of ${opts.out}: libtorrent says ${toolV1}, the raw info bytes give ${summary.infoHashHex}`, {
      context: { torrentPath: opts.out },
    });
  }
  return {
    torrentPath: opts.out,
    infoHashHex: summary.infoHashHex,
    ...(summary.infoHashV2Hex === undefined ? {} : { infoHashV2Hex: summary.infoHashV2Hex }),
    announceHashes: announceHashes(summary),
    summary,
  };
}
