import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { SYSTEM_PYTHON, requirePythonLibtorrent } from "./executables.js";
import { startProcess, type ManagedProcess } from "./managed-process.js";
import { pyScript } from "./package-root.js";
import { makeWorkDir, peerAddress } from "./peer.js";
import { waitFor } from "./wait-for.js";

export interface LibtorrentDhtNodeOptions {
  /** Any 127.x.y.z; default 127.0.0.1. */
  readonly ip?: string;
  /** UDP port of the node (and TCP port of a seed); default a free one. */
  readonly port?: number;
  /** Nodes to add to its routing table (ip:port). */
  readonly nodes?: readonly { readonly ip: string; readonly port: number }[];
  /** Seed this torrent (data under `dataDir`) and announce it into the DHT, with no tracker. */
  readonly seed?: { readonly torrentPath: string; readonly dataDir: string };
}

/** What py/lt_dht_node.py reports. */
export interface LibtorrentDhtState {
  readonly ready: boolean;
  /** Nodes in its routing table. */
  readonly nodes: number;
  readonly seeding: boolean;
  /** Info hashes (hex) other nodes asked it for with get_peers. */
  readonly getPeers: readonly string[];
  /** announce_peer received: [infoHash hex, ip, port]. */
  readonly announces: readonly (readonly [string, string, number])[];
  readonly errors: readonly string[];
}

export interface LibtorrentDhtNode {
  readonly ip: string;
  readonly port: number;
  readonly proc: ManagedProcess;
  state(): Promise<LibtorrentDhtState>;
  stop(): Promise<void>;
}

const EMPTY: LibtorrentDhtState = { ready: false, nodes: 0, seeding: false, getPeers: [], announces: [], errors: [] };

/** A python-libtorrent DHT node on loopback (py/lt_dht_node.py), optionally seeding into the DHT. */
export async function startLibtorrentDhtNode(opts: LibtorrentDhtNodeOptions = {}): Promise<LibtorrentDhtNode> {
  await requirePythonLibtorrent();
  const { ip, port } = await peerAddress(opts);
  const workDir = await makeWorkDir("lt-dht");
  const statePath = join(workDir, "state.json");
  const args = [
    pyScript("lt_dht_node.py"),
    "--ip",
    ip,
    "--port",
    String(port),
    "--state",
    statePath,
    "--nodes",
    (opts.nodes ?? []).map((n) => `${n.ip}:${n.port}`).join(","),
    ...(opts.seed ? ["--torrent", opts.seed.torrentPath, "--save", opts.seed.dataDir] : []),
  ];
  const proc = startProcess({ name: `libtorrent dht ${ip}:${port}`, command: SYSTEM_PYTHON, args, logPath: join(workDir, "lt_dht_node.log") });
  const state = async (): Promise<LibtorrentDhtState> => {
    try {
      const raw = JSON.parse(await readFile(statePath, "utf8")) as Record<string, unknown>;
      return {
        ready: raw["ready"] === true,
        nodes: Number(raw["nodes"] ?? 0),
        seeding: raw["seeding"] === true,
        getPeers: Array.isArray(raw["get_peers"]) ? raw["get_peers"].map(String) : [],
        announces: Array.isArray(raw["announces"]) ? (raw["announces"] as [string, string, number][]) : [],
        errors: Array.isArray(raw["errors"]) ? raw["errors"].map(String) : [],
      };
    } catch {
      return EMPTY;
    }
  };
  return {
    ip,
    port,
    proc,
    state,
    async stop() {
      await proc.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export interface LibtorrentDht {
  readonly nodes: readonly LibtorrentDhtNode[];
  /** `ip:port,...` of every node, for --dht-bootstrap. */
  readonly bootstrap: string;
  /** Waits until some node received an announce of `infoHashHex` (the seed is findable). */
  announced(infoHashHex: string, timeoutMs?: number): Promise<void>;
  /** Every info hash any node was asked for with get_peers. */
  getPeersSeen(): Promise<Set<string>>;
  stop(): Promise<void>;
}

/**
 * A little DHT of `size` libtorrent nodes on 127.0.0.1 that know each other, plus seeds that
 * announce their torrents into it. Resolves once every node has a routing table.
 */
export async function startLibtorrentDht(size: number, seeds: readonly { readonly torrentPath: string; readonly dataDir: string }[] = []): Promise<LibtorrentDht> {
  const nodes: LibtorrentDhtNode[] = [];
  try {
    // Every node is told of every other from the start (a node started first would otherwise
    // know nobody and wait to be found); a node whose table is still empty adds them again.
    const addresses: { ip: string; port: number }[] = [];
    for (let i = 0; i < size; i++) addresses.push(await peerAddress({}));
    for (const [i, a] of addresses.entries()) nodes.push(await startLibtorrentDhtNode({ ...a, nodes: addresses.filter((_, j) => j !== i) }));
    for (const seed of seeds) nodes.push(await startLibtorrentDhtNode({ nodes: addresses, seed }));
    await waitFor(
      async () => {
        for (const n of nodes) n.proc.assertRunning("joining the test DHT");
        return (await Promise.all(nodes.map((n) => n.state()))).every((s) => s.ready);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: "every libtorrent DHT node to know another and every seed to seed",
        describe: async () =>
          (await Promise.all(nodes.map(async (n) => ({ n, s: await n.state() }))))
            .map(({ n, s }) => `${n.ip}:${n.port} ready=${s.ready} nodes=${s.nodes} seeding=${s.seeding} errors=${s.errors.join("; ")}\n${n.proc.logTail(5)}`)
            .join("\n"),
      },
    );
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    throw err;
  }
  return {
    nodes,
    bootstrap: nodes
      .slice(0, size)
      .map((n) => `${n.ip}:${n.port}`)
      .join(","),
    async announced(infoHashHex, timeoutMs = 60_000) {
      await waitFor(async () => (await Promise.all(nodes.map((n) => n.state()))).some((s) => s.announces.some((a) => a[0] === infoHashHex)), {
        timeoutMs,
        intervalMs: 200,
        what: `a DHT announce of ${infoHashHex}`,
      });
    },
    async getPeersSeen() {
      return new Set((await Promise.all(nodes.map((n) => n.state()))).flatMap((s) => s.getPeers));
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    },
  };
}
