import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SYSTEM_PYTHON, requirePythonLibtorrent } from "./executables.js";
import { startProcess } from "./managed-process.js";
import { pyScript } from "./package-root.js";
import { awaitReadiness, makePeer, makeWorkDir, peerAddress, type Peer } from "./peer.js";
import { readTorrentFile } from "./torrent-file.js";

export interface ManySeedOptions {
  /** The torrents to seed; their data is under `dataDir` (each torrent's name inside it). */
  readonly torrentPaths: readonly string[];
  readonly dataDir: string;
  /** Any 127.x.y.z; default 127.0.0.1. */
  readonly ip?: string;
  readonly port?: number;
  /** Deadline for `ready`: every torrent seeding and announced. */
  readonly readyTimeoutMs?: number;
}

export interface ManySeed extends Peer {
  /** Payload bytes sent over every torrent. */
  uploaded(): Promise<number>;
}

/**
 * One python-libtorrent session (py/lt_many_seed.py) seeding many torrents on one address: the
 * peer of tests that run many jobs at once, where a process per torrent would cost more than
 * the jobs. The data is trusted (seed mode), not hash-checked.
 */
export async function startLibtorrentManySeed(opts: ManySeedOptions): Promise<ManySeed> {
  await requirePythonLibtorrent();
  if (opts.torrentPaths.length === 0) throw new Error("startLibtorrentManySeed needs at least one torrent");
  // Readiness also waits for the tracker to list the seed on the last torrent added.
  const last = await readTorrentFile(opts.torrentPaths[opts.torrentPaths.length - 1]!);
  const { ip, port } = await peerAddress(opts);
  const workDir = await makeWorkDir("libtorrent-many");
  const statePath = join(workDir, "state.json");
  const args = [pyScript("lt_many_seed.py"), "--save", opts.dataDir, "--ip", ip, "--port", String(port), "--state", statePath];
  for (const t of opts.torrentPaths) args.push("--torrent", t);
  const proc = startProcess({ name: `libtorrent seed of ${opts.torrentPaths.length} torrents ${ip}:${port}`, command: SYSTEM_PYTHON, args, logPath: join(workDir, "lt_many_seed.log") });
  const state = async (): Promise<Record<string, unknown>> => {
    try {
      return JSON.parse(await readFile(statePath, "utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const ready = awaitReadiness({
    proc,
    torrent: last,
    ip,
    port,
    timeoutMs: opts.readyTimeoutMs ?? 60_000,
    clientReady: async () => (await state())["ready"] === true,
    describe: async () => `state ${JSON.stringify(await state())}`,
  });
  return { ...makePeer({ ip, port, proc, ready, workDir, torrent: last }), uploaded: async () => Number((await state())["uploaded"] ?? 0) };
}
