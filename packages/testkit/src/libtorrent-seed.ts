import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SYSTEM_PYTHON, requirePythonLibtorrent } from "./executables.js";
import { startProcess } from "./managed-process.js";
import { pyScript } from "./package-root.js";
import { DEFAULT_READY_TIMEOUT_MS, awaitReadiness, makePeer, makeWorkDir, peerAddress } from "./peer.js";
import type { Peer, SeedOptions } from "./peer.js";
import { readTorrentFile } from "./torrent-file.js";

export interface LibtorrentPeerOptions extends SeedOptions {
  /** "seed" (default): serve the data in dataDir. "leech": download into dataDir. */
  readonly mode?: "seed" | "leech";
  /** Trust the data without hashing it (libtorrent seed_mode); for large payloads. */
  readonly skipHashCheck?: boolean;
  /**
   * Protocol encryption (MSE/PE): "forced" takes encrypted connections only, RC4 only, in and
   * out; "disabled" plaintext only; default: dials plaintext, accepts both.
   */
  readonly encryption?: "forced" | "disabled";
  /** Download limit in bytes per second (0 or absent: none); keeps a leecher incomplete for a while. */
  readonly downloadRateLimit?: number;
  /** Exchange peers (BEP 11 ut_pex) with peers that speak it; off by default. */
  readonly pex?: boolean;
}

/** What py/lt_seed.py reports about itself. */
export interface LibtorrentPeerState {
  readonly ready: boolean;
  readonly seeding: boolean;
  readonly announced: boolean;
  /** 0..1 */
  readonly progress: number;
  /** Payload bytes sent and received. */
  readonly uploaded: number;
  readonly downloaded: number;
  readonly peers: number;
  /** Bytes that failed the piece hash check (a leecher fed bad data). */
  readonly failedBytes: number;
  readonly errors: readonly string[];
}

export interface LibtorrentPeer extends Peer {
  state(): Promise<LibtorrentPeerState>;
}

const EMPTY_STATE: LibtorrentPeerState = {
  ready: false,
  seeding: false,
  announced: false,
  progress: 0,
  uploaded: 0,
  downloaded: 0,
  peers: 0,
  failedBytes: 0,
  errors: [],
};

/** A python-libtorrent peer (py/lt_seed.py) listening on ip:port only. */
export async function startLibtorrentSeed(opts: LibtorrentPeerOptions): Promise<LibtorrentPeer> {
  await requirePythonLibtorrent();
  const torrent = await readTorrentFile(opts.torrentPath);
  const { ip, port } = await peerAddress(opts);
  const mode = opts.mode ?? "seed";
  const workDir = await makeWorkDir("libtorrent");
  const statePath = join(workDir, "state.json");
  const args = [
    pyScript("lt_seed.py"),
    "--torrent",
    opts.torrentPath,
    "--save",
    opts.dataDir,
    "--ip",
    ip,
    "--port",
    String(port),
    "--state",
    statePath,
    "--mode",
    mode,
    "--upload-rate-limit",
    String(opts.uploadRateLimit ?? 0),
    ...(opts.skipHashCheck === true ? ["--skip-check"] : []),
    ...(opts.downloadRateLimit ? ["--download-rate-limit", String(opts.downloadRateLimit)] : []),
    ...(opts.pex === true ? ["--pex"] : []),
    ...(opts.encryption ? ["--encryption", opts.encryption] : []),
  ];
  const proc = startProcess({
    name: `libtorrent ${mode} ${ip}:${port}`,
    command: SYSTEM_PYTHON,
    args,
    logPath: join(workDir, "lt_seed.log"),
    ...(opts.placement === undefined ? {} : { netns: opts.placement.netns }),
  });
  const state = async (): Promise<LibtorrentPeerState> => {
    try {
      const raw = JSON.parse(await readFile(statePath, "utf8")) as Record<string, unknown>;
      return {
        ready: raw["ready"] === true,
        seeding: raw["seeding"] === true,
        announced: raw["announced"] === true,
        progress: Number(raw["progress"] ?? 0),
        uploaded: Number(raw["uploaded"] ?? 0),
        downloaded: Number(raw["downloaded"] ?? 0),
        peers: Number(raw["peers"] ?? 0),
        failedBytes: Number(raw["failed_bytes"] ?? 0),
        errors: Array.isArray(raw["errors"]) ? raw["errors"].map(String) : [],
      };
    } catch {
      return EMPTY_STATE;
    }
  };
  const ready = awaitReadiness({
    proc,
    torrent,
    ip,
    port,
    timeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    clientReady: async () => (await state()).ready,
    describe: async () => `state ${JSON.stringify(await state())}`,
    ...(opts.placement === undefined ? {} : { placement: opts.placement }),
  });
  return { ...makePeer({ ip, port, proc, ready, workDir, torrent }), state };
}
