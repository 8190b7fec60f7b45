import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SYSTEM_PYTHON, requirePythonLibtorrent } from "./executables.js";
import { startProcess } from "./managed-process.js";
import { pyScript } from "./package-root.js";
import { DEFAULT_READY_TIMEOUT_MS, awaitReadiness, makePeer, makeWorkDir, peerAddress } from "./peer.js";
import type { Peer } from "./peer.js";
import { TestkitError } from "./testkit-error.js";
import { readTorrentFile } from "./torrent-file.js";

export interface CorruptSeedOptions {
  readonly torrentPath: string;
  readonly dataDir: string;
  /**
   * Its own 127.x.y.z (e.g. 127.0.0.66): clients ban by IP, and a ban of this seed must not
   * also ban the honest seeds on 127.0.0.1.
   */
  readonly ip: string;
  readonly port?: number;
  /** Piece indices whose blocks are served with every byte inverted. */
  readonly corruptPieces: readonly number[];
  readonly readyTimeoutMs?: number;
}

export interface CorruptSeed extends Peer {
  /** Blocks answered so far (good and corrupt). */
  servedBlocks(): Promise<number>;
  /** Blocks of corrupt pieces answered so far. */
  corruptBlocks(): Promise<number>;
}

interface CorruptSeedState {
  served_blocks?: number;
  corrupt_blocks?: number;
  ready?: boolean;
}

/** A hostile seed of our own (py/corrupt_seed.py): honest except for `corruptPieces`. */
export async function startCorruptSeed(opts: CorruptSeedOptions): Promise<CorruptSeed> {
  await requirePythonLibtorrent();
  const torrent = await readTorrentFile(opts.torrentPath);
  for (const p of opts.corruptPieces) {
    if (!Number.isInteger(p) || p < 0 || p >= torrent.pieceCount) {
      throw new TestkitError("BAD_ARGUMENT", `corrupt piece ${p} is not in 0..${torrent.pieceCount - 1}`, {
        context: { piece: p, pieceCount: torrent.pieceCount },
      });
    }
  }
  const { ip, port } = await peerAddress(opts);
  const workDir = await makeWorkDir("corrupt-seed");
  const statePath = join(workDir, "state.json");
  const proc = startProcess({
    name: `corrupt seed ${ip}:${port}`,
    command: SYSTEM_PYTHON,
    args: [
      pyScript("corrupt_seed.py"),
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
      "--corrupt",
      opts.corruptPieces.join(","),
    ],
    logPath: join(workDir, "corrupt_seed.log"),
  });
  const state = async (): Promise<CorruptSeedState> => {
    try {
      return JSON.parse(await readFile(statePath, "utf8")) as CorruptSeedState;
    } catch {
      return {};
    }
  };
  const ready = awaitReadiness({
    proc,
    torrent,
    ip,
    port,
    timeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    clientReady: async () => (await state()).ready === true,
    describe: async () => `state ${JSON.stringify(await state())}`,
  });
  return {
    ...makePeer({ ip, port, proc, ready, workDir, torrent }),
    servedBlocks: async () => (await state()).served_blocks ?? 0,
    corruptBlocks: async () => (await state()).corrupt_blocks ?? 0,
  };
}
