import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DEFAULT_BOOTSTRAP, DhtNode, formatDhtState, parseBootstrapList, parseDhtState, type BootstrapAddress, type DhtState, type DhtStats, type PeerEndpoint } from "@shoal/dht";
import type { Logger } from "@shoal/service-kit";
import type { PollerConfig } from "../config.js";

/** How often the node's timers run: query timeouts are seconds, so 100 ms is precise enough. */
const TICK_MS = 100;
/** The state is saved this often besides at stop, so a crash loses little. */
const SAVE_EVERY_MS = 5 * 60_000;
/** One DNS try per router name: a name that does not resolve must not hold anything up. */
const DNS_TIMEOUT_MS = 2000;

export interface DhtLookupResult {
  readonly peers: number;
  readonly responders: number;
  readonly announced: number;
}

/** The poller's DHT node: one UDP socket shared by all its torrents. */
export interface DhtRunner {
  readonly port: number;
  /**
   * A get_peers lookup for `infoHash` (peers go to `onPeers` as they come), then announce_peer
   * to the closest nodes that answered when `announcePort` is given.
   */
  lookup(infoHash: Uint8Array, onPeers: (peers: PeerEndpoint[]) => void, announcePort?: number): Promise<DhtLookupResult>;
  stats(): DhtStats;
  stop(): Promise<void>;
}

/** The state file when none is configured. */
export function defaultDhtStateFile(): string {
  return join(tmpdir(), "shoal-dht", "node.json");
}

/**
 * Starts the DHT node: binds its UDP port, loads the saved id and nodes, resolves the bootstrap
 * routers (names in the background: a router that does not resolve, as with no internet, is
 * logged at debug and skipped) and joins. Throws only for a bad bootstrap list or a socket that
 * cannot be bound at all.
 */
export async function startDhtRunner(config: PollerConfig, logger: Logger): Promise<DhtRunner> {
  const log = logger.child({ component: "dht" });
  const routers = config.dhtBootstrap === undefined ? DEFAULT_BOOTSTRAP : parseBootstrapList(config.dhtBootstrap);
  const stateFile = config.dhtStateFile ?? defaultDhtStateFile();
  const saved = await loadState(stateFile, log);
  const socket = await bindSocket(config.dhtPort, log);
  const port = socket.address().port;
  const node = new DhtNode({
    ...(saved ? { id: saved.id, nodes: saved.nodes } : {}),
    now: () => performance.now(),
    random: (n) => randomBytes(n),
    send: (bytes, to) => socket.send(bytes, to.port, to.ip, (err) => err && log.debug({ op: "dht.send", peer: `${to.ip}:${to.port}`, err: err.message }, "send failed")),
  });
  socket.on("message", (msg, rinfo) => node.receive(msg, { ip: rinfo.address, port: rinfo.port }));
  socket.on("error", (err) => log.warn({ op: "dht.socket", err: err.message }, "DHT socket error"));
  const tick = setInterval(() => node.tick(), TICK_MS);
  tick.unref();
  const save = async () => {
    try {
      await mkdir(dirname(stateFile), { recursive: true });
      const tmp = `${stateFile}.${process.pid}.tmp`;
      await writeFile(tmp, formatDhtState(node.state()));
      await rename(tmp, stateFile);
    } catch (err) {
      log.debug({ op: "dht.saveState", file: stateFile, err: (err as Error).message }, "DHT state not saved");
    }
  };
  const saveTimer = setInterval(() => void save(), SAVE_EVERY_MS);
  saveTimer.unref();
  let stopped = false;
  // Lookups wait for the router addresses (at most one DNS timeout), not for the join: a
  // get_peers starts from the routers as well as a find_node does.
  const resolved = resolveRouters(routers, log).then((endpoints) => node.setBootstrap(endpoints));
  void resolved
    .then(async () => {
      if (stopped) return;
      const nodes = await node.join();
      log.info({ op: "dht.join", nodes, port }, `DHT joined: ${nodes} node(s) known`);
    })
    .catch((err: unknown) => log.warn({ op: "dht.join", err }, "DHT join failed"));
  log.info({ op: "dht.start", port, id: Buffer.from(node.id).toString("hex"), routers: routers.map((r) => `${r.host}:${r.port}`).join(",") }, `DHT node on UDP port ${port}`);
  return {
    port,
    async lookup(infoHash, onPeers, announcePort) {
      await resolved;
      let peers = 0;
      const responders = await node.getPeers(infoHash, (found) => {
        peers += found.length;
        onPeers(found);
      });
      const announced = announcePort === undefined ? 0 : await node.announce(infoHash, responders, announcePort, false);
      return { peers, responders: responders.length, announced };
    },
    stats: () => node.stats(),
    async stop() {
      stopped = true;
      clearInterval(tick);
      clearInterval(saveTimer);
      await save();
      node.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

async function loadState(file: string, log: Logger): Promise<DhtState | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    return parseDhtState(text);
  } catch (err) {
    log.warn({ op: "dht.loadState", file, err: (err as Error).message }, "DHT state unreadable; starting with a new node id");
    return undefined;
  }
}

/** The configured port; when it is taken (another client on 6881), any free one. */
async function bindSocket(port: number, log: Logger): Promise<Socket> {
  const bind = (p: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = createSocket({ type: "udp4" });
      s.once("error", (err) => {
        s.close();
        reject(err);
      });
      s.bind(p, () => {
        s.removeAllListeners("error");
        resolve(s);
      });
    });
  try {
    return await bind(port);
  } catch (err) {
    if (port === 0 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    const s = await bind(0);
    log.info({ op: "dht.bind", port, got: s.address().port }, `UDP port ${port} is taken; the DHT node uses ${s.address().port}`);
    return s;
  }
}

/**
 * Router addresses. Names are resolved with c-ares (not getaddrinfo, whose blocking calls would
 * hold the thread pool that file I/O needs while a name times out).
 */
async function resolveRouters(routers: readonly BootstrapAddress[], log: Logger): Promise<PeerEndpoint[]> {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 1 });
  const all = await Promise.all(
    routers.map(async (r): Promise<PeerEndpoint[]> => {
      if (isIP(r.host) === 4) return [{ ip: r.host, port: r.port }];
      if (isIP(r.host) === 6) return [];
      if (r.host === "localhost") return [{ ip: "127.0.0.1", port: r.port }];
      try {
        return (await resolver.resolve4(r.host)).map((ip) => ({ ip, port: r.port }));
      } catch (err) {
        log.debug({ op: "dht.resolve", host: r.host, err: (err as Error).message }, "DHT router name not resolved");
        return [];
      }
    }),
  );
  return all.flat();
}
