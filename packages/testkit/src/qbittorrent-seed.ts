import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { httpRequest } from "./http-json.js";
import { startProcess, tailOfFile } from "./managed-process.js";
import { DEFAULT_READY_TIMEOUT_MS, awaitReadiness, makePeer, makeWorkDir, peerAddress } from "./peer.js";
import type { Peer, SeedOptions } from "./peer.js";
import { TestkitError } from "./testkit-error.js";
import { readTorrentFile } from "./torrent-file.js";

export interface QbittorrentSeed extends Peer {
  /** GET a WebUI API path (e.g. "/api/v2/torrents/info") and parse its JSON answer. */
  api(path: string): Promise<unknown>;
}

/** qBittorrent's states of a complete torrent that is seeding (WebUI API v2). */
const SEEDING_STATES = new Set(["uploading", "stalledUP", "forcedUP", "queuedUP"]);

/**
 * qBittorrent-nox 4.5 (libtorrent 2.0 inside) as a seed: a fresh profile directory whose
 * qBittorrent.conf is written before the first start, the torrent given on the command line
 * with the data already in dataDir (qBittorrent checks it), the WebUI on a free loopback port
 * without authentication for localhost.
 */
export async function startQbittorrentSeed(opts: SeedOptions): Promise<QbittorrentSeed> {
  requireExecutable("qbittorrent-nox");
  const torrent = await readTorrentFile(opts.torrentPath);
  const { ip, port } = await peerAddress(opts);
  const webPort = await freePort("127.0.0.1");
  const workDir = await makeWorkDir("qbittorrent");
  const configDir = join(workDir, "qBittorrent", "config");
  await mkdir(configDir, { recursive: true });
  // qBittorrent counts rate limits in KiB/s.
  const limitKiB = Math.ceil((opts.uploadRateLimit ?? 0) / 1024);
  const conf = [
    "[LegalNotice]",
    "Accepted=true",
    "",
    "[BitTorrent]",
    "Session\\DHTEnabled=false",
    "Session\\LSDEnabled=false",
    "Session\\PeXEnabled=false",
    `Session\\Port=${port}`,
    "Session\\Interface=lo",
    "Session\\InterfaceName=lo",
    `Session\\InterfaceAddress=${ip}`,
    "Session\\MultiConnectionsPerIp=true",
    "Session\\BTProtocol=TCP",
    // 0: encryption allowed, not required.
    "Session\\Encryption=0",
    `Session\\DefaultSavePath=${resolve(opts.dataDir)}`,
    "Session\\TempPathEnabled=false",
    "Session\\QueueingSystemEnabled=false",
    "Session\\GlobalMaxRatio=-1",
    "Session\\GlobalMaxSeedingMinutes=-1",
    `Session\\GlobalUPSpeedLimit=${limitKiB}`,
    // Rate limits also apply to peers on the LAN (every test peer is on loopback).
    "Session\\IgnoreLimitsOnLAN=false",
    "Session\\AnonymousModeEnabled=false",
    "",
    "[Network]",
    "PortForwardingEnabled=false",
    "",
    "[Preferences]",
    "Connection\\ResolvePeerCountries=false",
    "General\\UseRandomPort=false",
    "WebUI\\Address=127.0.0.1",
    `WebUI\\Port=${webPort}`,
    "WebUI\\UseUPnP=false",
    "WebUI\\LocalHostAuth=false",
    "WebUI\\CSRFProtection=false",
    "WebUI\\HostHeaderValidation=false",
    "",
  ].join("\n");
  await writeFile(join(configDir, "qBittorrent.conf"), conf);
  const proc = startProcess({
    name: `qbittorrent-nox ${ip}:${port}`,
    command: "qbittorrent-nox",
    args: [`--profile=${workDir}`, `--save-path=${resolve(opts.dataDir)}`, "--skip-dialog=true", resolve(opts.torrentPath)],
    logPath: join(workDir, "qbittorrent.log"),
    env: { ...process.env, HOME: workDir, XDG_CONFIG_HOME: workDir, XDG_DATA_HOME: workDir, XDG_CACHE_HOME: workDir },
  });

  const api = async (path: string): Promise<unknown> => {
    const res = await httpRequest(`http://127.0.0.1:${webPort}${path}`);
    if (res.status !== 200) {
      throw new TestkitError("RPC_FAILED", `qBittorrent ${path}: HTTP ${res.status} ${res.body.toString("utf8").slice(0, 200)}`, {
        context: { path, status: res.status },
      });
    }
    return JSON.parse(res.body.toString("utf8"));
  };

  let lastState = "";
  const clientReady = async (): Promise<boolean> => {
    // The WebUI comes up a moment after start; until then qBittorrent is simply not ready.
    // Its profile holds this one torrent. (qBittorrent names a hybrid torrent by its
    // truncated v2 hash, so filtering by the v1 hash would find nothing.)
    const list = (await api("/api/v2/torrents/info").catch(() => [])) as Record<string, unknown>[];
    const t = list[0];
    lastState = JSON.stringify(t === undefined ? null : { state: t["state"], progress: t["progress"], tracker: t["tracker"] });
    return t !== undefined && SEEDING_STATES.has(String(t["state"])) && Number(t["progress"]) === 1;
  };
  const ready = awaitReadiness({
    proc,
    torrent,
    ip,
    port,
    timeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    clientReady,
    // qBittorrent writes its log to the profile, not to stdout.
    describe: async () =>
      `torrent ${lastState}\nqBittorrent log:\n${tailOfFile(join(workDir, "qBittorrent", "data", "logs", "qbittorrent.log"), 15)}`,
  });
  return { ...makePeer({ ip, port, proc, ready, workDir, torrent }), api };
}
