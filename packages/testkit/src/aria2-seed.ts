import { join, resolve } from "node:path";
import { requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { httpRequest } from "./http-json.js";
import { startProcess } from "./managed-process.js";
import { DEFAULT_READY_TIMEOUT_MS, awaitReadiness, makePeer, makeWorkDir, peerAddress } from "./peer.js";
import type { Peer, SeedOptions } from "./peer.js";
import { TestkitError } from "./testkit-error.js";
import { readTorrentFile } from "./torrent-file.js";

export interface Aria2Seed extends Peer {
  /** One JSON-RPC call (https://aria2.github.io/manual/en/html/aria2c.html#rpc-interface). */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
}

/**
 * aria2c 1.36 as a seed: it hash-checks the data already in dataDir (--check-integrity) and
 * seeds with no ratio or time limit (--seed-ratio=0.0), announcing from ip. Its JSON-RPC on a
 * free loopback port tells when it is seeding.
 */
export interface Aria2SeedOptions extends SeedOptions {
  /** Protocol encryption (MSE/PE): "required" takes RC4-encrypted connections only; default: plaintext or encrypted. */
  readonly encryption?: "required";
}

export async function startAria2Seed(opts: Aria2SeedOptions): Promise<Aria2Seed> {
  requireExecutable("aria2c");
  const torrent = await readTorrentFile(opts.torrentPath);
  const { ip, port } = await peerAddress(opts);
  const rpcPort = await freePort("127.0.0.1");
  const workDir = await makeWorkDir("aria2");
  // aria2 speaks UDP tracker (BEP 15) only over its DHT socket. With a UDP tracker the DHT is
  // switched on, bound to ip, with an empty routing table of its own and no bootstrap node, so
  // it only ever talks to peers met on loopback.
  const udpTracker = torrent.announceTiers.flat().some((u) => u.startsWith("udp://"));
  const dht = udpTracker
    ? ["--enable-dht=true", `--dht-listen-port=${await freePort(ip)}`, `--dht-file-path=${join(workDir, "dht.dat")}`]
    : ["--enable-dht=false"];
  const limit = opts.uploadRateLimit ?? 0;
  const args = [
    `--dir=${resolve(opts.dataDir)}`,
    "--check-integrity=true",
    "--bt-seed-unverified=false",
    "--seed-ratio=0.0",
    `--listen-port=${port}`,
    // Binds peer and tracker sockets to ip, so the tracker records ip.
    `--interface=${ip}`,
    "--disable-ipv6=true",
    ...dht,
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    // Existing files are the payload: never rename, truncate or preallocate over them.
    "--allow-overwrite=false",
    "--auto-file-renaming=false",
    "--file-allocation=none",
    "--bt-save-metadata=false",
    "--bt-max-peers=0",
    `--max-overall-upload-limit=${limit}`,
    // aria2 drops peers that do not speak MSE, and selects RC4 rather than plaintext.
    ...(opts.encryption === "required" ? ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"] : []),
    "--enable-rpc=true",
    `--rpc-listen-port=${rpcPort}`,
    "--rpc-listen-all=false",
    `--stop-with-process=${process.pid}`,
    "--summary-interval=0",
    "--console-log-level=notice",
    `--log=${join(workDir, "aria2-debug.log")}`,
    "--log-level=info",
    resolve(opts.torrentPath),
  ];
  const proc = startProcess({
    name: `aria2c ${ip}:${port}`,
    command: "aria2c",
    args,
    cwd: workDir,
    logPath: join(workDir, "aria2.log"),
  });

  const url = `http://127.0.0.1:${rpcPort}/jsonrpc`;
  let nextId = 1;
  const rpc = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const res = await httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: String(nextId++), method, params }),
    });
    const json = JSON.parse(res.body.toString("utf8")) as { result?: unknown; error?: { message?: string } };
    if (json.error !== undefined) {
      throw new TestkitError("RPC_FAILED", `aria2 ${method}: ${json.error.message ?? JSON.stringify(json.error)}`, {
        context: { method },
      });
    }
    return json.result;
  };

  let lastState = "";
  const clientReady = async (): Promise<boolean> => {
    // The RPC port opens a moment after start; until then aria2 is simply not ready.
    const active = (await rpc("aria2.tellActive", [["gid", "status", "seeder", "totalLength", "completedLength", "errorMessage"]]).catch(
      () => [],
    )) as Record<string, string>[];
    lastState = JSON.stringify(active);
    const t = active[0];
    return t !== undefined && t["seeder"] === "true" && t["completedLength"] === t["totalLength"];
  };
  const ready = awaitReadiness({
    proc,
    torrent,
    ip,
    port,
    timeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    clientReady,
    describe: async () => `active downloads ${lastState}`,
  });
  return { ...makePeer({ ip, port, proc, ready, workDir, torrent }), rpc };
}
