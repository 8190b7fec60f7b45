import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { decodeBencode, isDict } from "./bencode-reader.js";
import type { BDict, BValue } from "./bencode-reader.js";
import { TestkitError } from "./testkit-error.js";

export interface TorrentFileEntry {
  /** Path below the data directory, starting with the torrent name for multi-file torrents. */
  readonly path: string;
  readonly size: number;
  /** BEP 47 padding file: its bytes are zeros and never exist on disk. */
  readonly pad: boolean;
}

/** What the testkit needs to know about a .torrent to serve or probe it. */
export interface TorrentSummary {
  /** SHA-1 of the raw info dictionary, lowercase hex. */
  readonly infoHashHex: string;
  /** SHA-256 of the raw info dictionary for v2 and hybrid torrents (BEP 52), lowercase hex. */
  readonly infoHashV2Hex?: string;
  readonly name: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalBytes: number;
  readonly files: readonly TorrentFileEntry[];
  /** Announce tiers (BEP 12), or the single `announce` URL as one tier. */
  readonly announceTiers: readonly (readonly string[])[];
  readonly private: boolean;
}

export async function readTorrentFile(path: string): Promise<TorrentSummary> {
  return parseTorrent(await readFile(path), path);
}

export function parseTorrent(buf: Buffer, source: string): TorrentSummary {
  const bad = (what: string): never => {
    throw new TestkitError("BAD_INPUT", `torrent ${source}: ${what}`, { context: { source } });
  };
  const root = decodeBencode(buf, source);
  if (!isDict(root)) return bad("top level is not a dictionary");
  const info = root.entries.get("info");
  const span = root.spans.get("info");
  if (!isDict(info) || span === undefined) return bad("no info dictionary");
  const raw = buf.subarray(span[0], span[1]);

  const name = str(info, "name") ?? bad("info has no name");
  const pieceLength = int(info, "piece length") ?? bad("info has no piece length");
  const pieces = info.entries.get("pieces");
  const version = int(info, "meta version");

  const files: TorrentFileEntry[] = [];
  const list = info.entries.get("files");
  if (Array.isArray(list)) {
    for (const f of list) {
      if (!isDict(f)) return bad("files entry is not a dictionary");
      const parts = f.entries.get("path");
      if (!Array.isArray(parts)) return bad("file without path");
      const components = parts.map((p) => (Buffer.isBuffer(p) ? p.toString("utf8") : bad("path component is not a string")));
      const size = int(f, "length") ?? bad("file without length");
      const attr = str(f, "attr") ?? "";
      files.push({ path: [name, ...components].join("/"), size, pad: attr.includes("p") });
    }
  } else {
    files.push({ path: name, size: int(info, "length") ?? bad("single-file info has no length"), pad: false });
  }
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const pieceCount = Buffer.isBuffer(pieces)
    ? pieces.length / 20
    : Math.ceil(totalBytes / pieceLength);

  const tiers: string[][] = [];
  const announceList = root.entries.get("announce-list");
  if (Array.isArray(announceList)) {
    for (const tier of announceList) {
      if (!Array.isArray(tier)) continue;
      tiers.push(tier.filter((u): u is Buffer => Buffer.isBuffer(u)).map((u) => u.toString("utf8")));
    }
  }
  const announce = str(root, "announce");
  if (tiers.length === 0 && announce !== undefined) tiers.push([announce]);

  return {
    infoHashHex: createHash("sha1").update(raw).digest("hex"),
    ...(version === 2 ? { infoHashV2Hex: createHash("sha256").update(raw).digest("hex") } : {}),
    name,
    pieceLength,
    pieceCount,
    totalBytes,
    files,
    announceTiers: tiers,
    private: int(info, "private") === 1,
  };
}

function str(d: BDict, key: string): string | undefined {
  const v: BValue | undefined = d.entries.get(key);
  return Buffer.isBuffer(v) ? v.toString("utf8") : undefined;
}

function int(d: BDict, key: string): number | undefined {
  const v = d.entries.get(key);
  return typeof v === "bigint" ? Number(v) : undefined;
}

/**
 * The 20-byte hashes a client announces a torrent under, lowercase hex: the v1 hash and, for
 * v2 and hybrid torrents, the v2 hash truncated to 20 bytes (BEP 52). A whitelisting tracker
 * has to know all of them or one of the client's announces fails.
 */
export function announceHashes(t: TorrentSummary): string[] {
  return t.infoHashV2Hex === undefined ? [t.infoHashHex] : [t.infoHashHex, t.infoHashV2Hex.slice(0, 40)];
}
