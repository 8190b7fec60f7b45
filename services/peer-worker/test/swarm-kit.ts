import { MemoryBus, MemoryClaimTable, type ObjectStore } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { Bitfield, RESERVED_BITS, type Handshake } from "@shoal/wire";
import { peerWorkerConfigSchema, type PeerWorkerConfig } from "../src/config.js";
import { PieceBufferPool } from "../src/piece-buffer-pool.js";
import { SocketInput } from "@shoal/wire-net";
import { TorrentSwarm } from "../src/swarm.js";
import type { TorrentFixture } from "../../../test/sim/torrent-fixture.js";
import { StubSocket } from "./stub-socket.js";

export interface TestSwarmOptions {
  readonly stored?: readonly number[];
  readonly config?: Partial<PeerWorkerConfig>;
  readonly now?: () => number;
  /** BEP 19 web seeds of the job. */
  readonly webSeeds?: readonly string[];
  /** The port the swarm believes it listens on (what its handshakes say and its own address is). */
  readonly listenPort?: number;
}

export interface TestSwarm {
  readonly swarm: TorrentSwarm;
  readonly claims: MemoryClaimTable;
  readonly bus: MemoryBus;
  /** Attaches a connection over a stub socket, as the worker does after a peer's handshake. */
  connect(opts?: { key?: string; rest?: Buffer; pending?: readonly Buffer[]; outgoing?: boolean; extended?: boolean }): {
    socket: StubSocket;
    input: SocketInput;
    key: string;
  };
  close(): Promise<void>;
}

/** Staging is not what these tests look at; a piece that completes is simply dropped. */
const store = { putStaged: async () => undefined, deleteStaged: async () => undefined } as unknown as ObjectStore;

/**
 * One torrent's swarm on memory adapters, without a listening socket: tests attach stub
 * connections to it directly and read what it writes.
 */
export async function testSwarm(fixture: TorrentFixture, opts: TestSwarmOptions = {}): Promise<TestSwarm> {
  const ih = fixture.infoHashHex;
  const claims = new MemoryClaimTable();
  await claims.createTorrent(ih, fixture.pieceCount, opts.stored ?? []);
  const bus = new MemoryBus();
  const config = peerWorkerConfigSchema.parse({ listenHost: "127.0.0.1", listenPort: 0, joinSettleMs: 0, ...opts.config });
  const have = new Bitfield(fixture.pieceCount);
  for (const i of opts.stored ?? []) have.set(i);
  const swarm = new TorrentSwarm(
    fixture.meta,
    have,
    new Bitfield(fixture.pieceCount, have.toBytes()),
    config,
    {
      claims,
      store,
      bus,
      logger: silentLogger(),
      workerId: "worker-t",
      peerId: Buffer.alloc(20, 1),
      now: opts.now ?? (() => performance.now()),
      random: Math.random,
      pool: new PieceBufferPool(config.maxBufferedMiB * 1024 * 1024),
      ...(opts.webSeeds ? { webSeeds: opts.webSeeds } : {}),
    },
    opts.listenPort ?? 0,
  );
  let peers = 0;
  return {
    swarm,
    claims,
    bus,
    connect({ key = `10.0.0.${++peers}:6881`, rest = Buffer.alloc(0), pending = [], outgoing = false, extended = false } = {}) {
      const socket = new StubSocket(fixture.pieceCount);
      const input = new SocketInput();
      for (const chunk of pending) input.push(chunk);
      const handshake: Handshake = {
        reserved: RESERVED_BITS.make({ fast: true, extensionProtocol: extended }),
        infoHash: fixture.meta.infoHash,
        peerId: Buffer.from(`-FK0001-${key.padEnd(12, "x").slice(0, 12)}`),
      };
      swarm.attach(socket.asSocket(), input, handshake, rest, key, outgoing);
      return { socket, input, key };
    },
    async close() {
      await swarm.close();
      await bus.close();
    },
  };
}
