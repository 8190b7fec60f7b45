import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { httpRequest } from "./http-json.js";
import { startProcess } from "./managed-process.js";
import { DEFAULT_READY_TIMEOUT_MS, awaitReadiness, makePeer, makeWorkDir, peerAddress } from "./peer.js";
import type { Peer, SeedOptions } from "./peer.js";
import { TestkitError } from "./testkit-error.js";
import { readTorrentFile } from "./torrent-file.js";
import { waitFor } from "./wait-for.js";

/** Transmission's torrent status codes (libtransmission tr_torrent_activity). */
const TR_STATUS = { stopped: 0, checkWait: 1, check: 2, downloadWait: 3, download: 4, seedWait: 5, seed: 6 } as const;
/** The daemon opens its RPC port within a second; longer means it failed to start. */
const RPC_UP_TIMEOUT_MS = 15_000;

export interface TransmissionSeed extends Peer {
  /** One RPC call (https://github.com/transmission/transmission/blob/3.00/extras/rpc-spec.txt). */
  rpc(method: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * transmission-daemon 3.00 as a seed: its own config dir, RPC on a free loopback port, the
 * torrent added over RPC with the data already present, verified, then seeding.
 */
export interface TransmissionSeedOptions extends SeedOptions {
  /** Protocol encryption (MSE/PE): "required" refuses plaintext peers; default: prefer plaintext, accept encrypted. */
  readonly encryption?: "required";
}

export async function startTransmissionSeed(opts: TransmissionSeedOptions): Promise<TransmissionSeed> {
  requireExecutable("transmission-daemon");
  const torrent = await readTorrentFile(opts.torrentPath);
  const { ip, port } = await peerAddress(opts);
  const rpcPort = await freePort("127.0.0.1");
  const workDir = await makeWorkDir("transmission");
  const limit = opts.uploadRateLimit ?? 0;
  const settings = {
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "peer-port": port,
    "peer-port-random-on-start": false,
    "bind-address-ipv4": ip,
    "bind-address-ipv6": "::1",
    "rpc-enabled": true,
    "rpc-bind-address": "127.0.0.1",
    "rpc-port": rpcPort,
    "rpc-authentication-required": false,
    "rpc-whitelist-enabled": true,
    "rpc-whitelist": "127.0.0.1",
    "rpc-host-whitelist-enabled": false,
    // 0: prefer plaintext, accept encrypted peers; 2: encrypted peers only.
    encryption: opts.encryption === "required" ? 2 : 0,
    "ratio-limit-enabled": false,
    "idle-seeding-limit-enabled": false,
    "download-dir": resolve(opts.dataDir),
    "incomplete-dir-enabled": false,
    "start-added-torrents": true,
    "watch-dir-enabled": false,
    "blocklist-enabled": false,
    "download-queue-enabled": false,
    "seed-queue-enabled": false,
    "queue-stalled-enabled": false,
    "alt-speed-enabled": false,
    "speed-limit-down-enabled": false,
    // Transmission counts speed limits in kB/s of 1000 bytes.
    "speed-limit-up-enabled": limit > 0,
    "speed-limit-up": Math.max(1, Math.ceil(limit / 1000)),
    "rename-partial-files": false,
    "trash-original-torrent-files": false,
    "script-torrent-done-enabled": false,
    "message-level": 2,
  };
  await writeFile(join(workDir, "settings.json"), JSON.stringify(settings, null, 1));
  const proc = startProcess({
    name: `transmission-daemon ${ip}:${port}`,
    command: "transmission-daemon",
    args: ["-f", "-g", workDir],
    logPath: join(workDir, "transmission.log"),
  });

  const url = `http://127.0.0.1:${rpcPort}/transmission/rpc`;
  let sessionId = "";
  const rpc = async (method: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const body = JSON.stringify({ method, arguments: args });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await httpRequest(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-transmission-session-id": sessionId },
        body,
      });
      // CSRF guard: the first call (and any after a restart) is answered 409 with the id to use.
      if (res.status === 409) {
        sessionId = String(res.headers["x-transmission-session-id"] ?? "");
        continue;
      }
      const json = JSON.parse(res.body.toString("utf8")) as { result?: string; arguments?: Record<string, unknown> };
      if (res.status !== 200 || json.result !== "success") {
        throw new TestkitError("RPC_FAILED", `transmission ${method}: HTTP ${res.status}, ${json.result ?? res.body.toString("utf8")}`, {
          context: { method, status: res.status },
        });
      }
      return json.arguments ?? {};
    }
    throw new TestkitError("RPC_FAILED", `transmission ${method}: session id refused twice`, { context: { method } });
  };

  const stopOnError = async (err: unknown): Promise<never> => {
    await proc.stop();
    await rm(workDir, { recursive: true, force: true });
    throw err;
  };
  await waitFor(
    async () => {
      proc.assertRunning("starting");
      return rpc("session-get").then(
        () => true,
        () => false,
      );
    },
    { timeoutMs: RPC_UP_TIMEOUT_MS, what: `transmission-daemon RPC on 127.0.0.1:${rpcPort}`, describe: () => proc.logTail() },
  ).catch(stopOnError);
  const metainfo = (await readFile(opts.torrentPath)).toString("base64");
  const added = await rpc("torrent-add", { metainfo, "download-dir": resolve(opts.dataDir), paused: false }).catch(stopOnError);
  const entry = (added["torrent-added"] ?? added["torrent-duplicate"]) as { id: number } | undefined;
  if (entry === undefined) return stopOnError(new TestkitError("RPC_FAILED", `transmission torrent-add answered ${JSON.stringify(added)}`));
  const id = entry.id;

  const fields = ["status", "percentDone", "leftUntilDone", "error", "errorString", "trackerStats", "recheckProgress"];
  let lastState = "";
  let verifyAsked = false;
  const clientReady = async (): Promise<boolean> => {
    const got = await rpc("torrent-get", { ids: [id], fields });
    const t = (got["torrents"] as Record<string, unknown>[] | undefined)?.[0];
    if (t === undefined) return false;
    lastState = JSON.stringify(t);
    const status = Number(t["status"]);
    // A torrent added over existing files that Transmission did not check on its own is told to.
    if (!verifyAsked && (status === TR_STATUS.download || status === TR_STATUS.downloadWait) && Number(t["percentDone"]) < 1) {
      verifyAsked = true;
      await rpc("torrent-verify", { ids: [id] });
      return false;
    }
    const stats = (t["trackerStats"] as { lastAnnounceSucceeded?: boolean }[] | undefined) ?? [];
    const announced = stats.length === 0 || stats.some((s) => s.lastAnnounceSucceeded === true);
    return status === TR_STATUS.seed && Number(t["leftUntilDone"]) === 0 && announced;
  };
  const ready = awaitReadiness({
    proc,
    torrent,
    ip,
    port,
    timeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    clientReady,
    describe: async () => `torrent ${lastState}`,
  });
  return { ...makePeer({ ip, port, proc, ready, workDir, torrent }), rpc };
}
