import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { liveChildCount, makePayload, makeTorrent, startOpentracker } from "../src/index.js";
import type { MadeTorrent, Opentracker, Payload, TorrentTool } from "../src/index.js";

/** A payload, its torrent announcing to a fresh opentracker, and a scratch directory. */
export interface Swarm {
  readonly dir: string;
  /** Parent directory of the payload root: what seeds get as dataDir. */
  readonly dataDir: string;
  readonly payload: Payload;
  readonly torrent: MadeTorrent;
  readonly tracker: Opentracker;
  close(): Promise<void>;
}

export interface SwarmOptions {
  readonly sizeBytes?: number;
  readonly files?: readonly { path: string; size: number }[];
  readonly pieceLength?: number;
  readonly tool?: TorrentTool;
  readonly announce?: "http" | "udp";
}

/** 4 MiB in 256 KiB pieces: 16 pieces, downloaded in well under a second from a fast seed. */
export async function makeSwarm(opts: SwarmOptions = {}): Promise<Swarm> {
  const dir = await mkdtemp(join(tmpdir(), "testkit-test-"));
  const dataDir = join(dir, "data");
  const payload = opts.files
    ? await makePayload(dataDir, { name: "multi", files: opts.files })
    : await makePayload(dataDir, { name: "payload.bin", size: opts.sizeBytes ?? 4 * 1024 * 1024 });
  const tracker = await startOpentracker({ infoHashes: [] });
  try {
    const torrent = await makeTorrent({
      path: payload.root,
      out: join(dir, "t.torrent"),
      announce: [[opts.announce === "udp" ? tracker.udpAnnounce : tracker.httpAnnounce]],
      pieceLength: opts.pieceLength ?? 256 * 1024,
      tool: opts.tool ?? "mktorrent",
    });
    await tracker.allow(torrent.announceHashes);
    return {
      dir,
      dataDir,
      payload,
      torrent,
      tracker,
      /** Stops the tracker, removes the files, and fails if any child of the test still runs. */
      async close() {
        await tracker.stop();
        await rm(dir, { recursive: true, force: true });
        const left = liveChildCount();
        if (left > 0) throw new Error(`${left} child process group(s) still running after the test`);
      },
    };
  } catch (err) {
    await tracker.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
