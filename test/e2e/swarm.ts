import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  makePayload,
  makeTorrent,
  sha256File,
  startAria2Seed,
  startLibtorrentSeed,
  startOpentracker,
  startQbittorrentSeed,
  startTransmissionSeed,
  type Opentracker,
  type Payload,
  type PayloadSpec,
  type Peer,
  type TorrentTool,
} from "@shoal/testkit";

export interface Swarm {
  readonly dir: string;
  readonly out: string;
  readonly payload: Payload;
  readonly torrentPath: string;
  readonly infoHashHex: string;
  readonly tracker: Opentracker;
  readonly seeds: Peer[];
  /** Every payload file is at `<dir>/<path>` (default `out`) with the source's SHA-256. */
  mismatches(dir?: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface SwarmOptions {
  readonly payload: PayloadSpec;
  readonly pieceLength: number;
  readonly tracker: "http" | "udp";
  readonly tool?: TorrentTool;
  /** Honest libtorrent seeds to start (each on 127.0.0.1). */
  readonly seeds: number;
  readonly seedUploadRateLimit?: number;
  /** Seeds of other clients, each on its own 127.0.0.x address. */
  readonly otherSeeds?: readonly ("transmission" | "aria2" | "qbittorrent")[];
  /** The libtorrent seeds' protocol encryption: "forced" (RC4 only) or "disabled" (plaintext only). */
  readonly seedEncryption?: "forced" | "disabled";
  /** Transmission and aria2 seeds that take encrypted peers only. */
  readonly otherSeedsRequireEncryption?: boolean;
  /** A private torrent (BEP 27). */
  readonly private?: boolean;
}

/** A real swarm on loopback: opentracker, a payload, its .torrent and libtorrent seeds. */
export async function startSwarm(opts: SwarmOptions): Promise<Swarm> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-e2e-"));
  const data = join(dir, "data");
  const out = join(dir, "out");
  const payload = await makePayload(data, opts.payload);
  // The torrent needs the tracker's URL and the tracker's whitelist needs the torrent's hashes:
  // start the tracker first, whitelist once the torrent exists.
  const tracker = await startOpentracker({ infoHashes: [] });
  const made = await makeTorrent({
    path: payload.root,
    out: join(dir, "test.torrent"),
    pieceLength: opts.pieceLength,
    tool: opts.tool ?? "mktorrent",
    announce: [[opts.tracker === "udp" ? tracker.udpAnnounce : tracker.httpAnnounce]],
    ...(opts.private ? { private: true } : {}),
  });
  await tracker.allow(made.announceHashes);
  const seeds: Peer[] = [];
  for (let i = 0; i < opts.seeds; i++) {
    seeds.push(
      await startLibtorrentSeed({
        torrentPath: made.torrentPath,
        dataDir: data,
        ...(opts.seedUploadRateLimit ? { uploadRateLimit: opts.seedUploadRateLimit } : {}),
        ...(opts.seedEncryption ? { encryption: opts.seedEncryption } : {}),
      }),
    );
  }
  let ipSuffix = 30;
  for (const kind of opts.otherSeeds ?? []) {
    const start = { transmission: startTransmissionSeed, aria2: startAria2Seed, qbittorrent: startQbittorrentSeed }[kind];
    const encryption = kind !== "qbittorrent" && opts.otherSeedsRequireEncryption ? { encryption: "required" as const } : {};
    seeds.push(await start({ torrentPath: made.torrentPath, dataDir: data, ip: `127.0.0.${ipSuffix++}`, readyTimeoutMs: 60_000, ...encryption }));
  }
  await Promise.all(seeds.map((s) => s.ready));
  return {
    dir,
    out,
    payload,
    torrentPath: made.torrentPath,
    infoHashHex: made.infoHashHex,
    tracker,
    seeds,
    async mismatches(where = out) {
      const bad: string[] = [];
      for (const f of payload.files) {
        const got = await sha256File(join(where, f.path)).catch(() => "missing");
        if (got !== f.sha256) bad.push(`${f.path}: ${got === "missing" ? "missing" : "content differs"}`);
      }
      return bad;
    },
    async close() {
      await Promise.allSettled(seeds.map((s) => s.stop()));
      await tracker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
