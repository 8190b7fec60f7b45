import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "@shoal/service-kit";
import { Bitfield } from "@shoal/wire";
import { BLOCK_BYTES, type ActivePiece } from "../src/active-piece.js";
import { BlockScheduler, type SchedulerHooks, type SchedulerOptions } from "../src/block-scheduler.js";
import type { PeerConnection } from "../src/connection.js";
import { PieceBufferPool } from "../src/piece-buffer-pool.js";
import { ClaimTableProbe } from "./claim-table-probe.js";
import { seededRandom } from "./seeded-random.js";
import { stubConnection, type StubSocket } from "./stub-socket.js";

const IH = "cd".repeat(20);
const WORKER = "worker-t";

interface Rig {
  readonly scheduler: BlockScheduler;
  readonly probe: ClaimTableProbe;
  readonly have: Bitfield;
  readonly conns: PeerConnection[];
  readonly sockets: Map<PeerConnection, StubSocket>;
  /** A connection that has `pieces`, has unchoked us and interests us. */
  connect(pieces: Iterable<number>): PeerConnection;
}

/** A buffer pool that tracks the piece memory handed out and not given back. */
class MeteredPool extends PieceBufferPool {
  outstanding = 0;
  peak = 0;

  override acquire(size: number): Buffer {
    this.outstanding += size;
    this.peak = Math.max(this.peak, this.outstanding);
    return super.acquire(size);
  }

  override release(buf: Buffer): void {
    this.outstanding -= buf.length;
    super.release(buf);
  }
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.scheduler.releaseAll();
});

/** A scheduler over a memory claim table where everything but `missing` is stored already. */
async function rig(opts: { pieceCount: number; pieceBytes: number; missing: readonly number[]; hooks?: Partial<SchedulerHooks>; options?: Partial<SchedulerOptions> }): Promise<Rig> {
  const probe = new ClaimTableProbe();
  const missing = new Set(opts.missing);
  const stored = Array.from({ length: opts.pieceCount }, (_, i) => i).filter((i) => !missing.has(i));
  await probe.inner.createTorrent(IH, opts.pieceCount, stored);
  const have = new Bitfield(opts.pieceCount);
  for (const i of stored) have.set(i);
  const conns: PeerConnection[] = [];
  const sockets = new Map<PeerConnection, StubSocket>();
  const scheduler = new BlockScheduler(
    {
      infoHash: IH,
      workerId: WORKER,
      pieceCount: opts.pieceCount,
      pieceLength: () => opts.pieceBytes,
      maxBufferedBytes: 64 * opts.pieceBytes,
      runPieces: 0,
      minPipeline: 8,
      maxPipeline: 64,
      pipelineSeconds: 2,
      requestTimeoutMs: 20_000,
      sourcelessClaimMs: 30_000,
      now: () => 0,
      random: seededRandom(5),
      pool: new PieceBufferPool(0),
      ...opts.options,
    },
    have,
    probe.table,
    { onComplete: () => undefined, connections: () => conns, ...opts.hooks },
    silentLogger(),
  );
  const r: Rig = {
    scheduler,
    probe,
    have,
    conns,
    sockets,
    connect(pieces) {
      const { conn, socket } = stubConnection({ pieceCount: opts.pieceCount, key: `10.0.0.${conns.length + 1}:6881` });
      sockets.set(conn, socket);
      for (const i of pieces) conn.bitfield.set(i);
      conn.peerChoking = false;
      conn.amInterested = true;
      conns.push(conn);
      for (const i of pieces) scheduler.onPeerHas(i);
      return conn;
    },
  };
  rigs.push(r);
  return r;
}

describe.each([
  { runs: "per piece", runPieces: 0 },
  { runs: "in runs", runPieces: 16 },
])("BlockScheduler near the end of a download, claiming $runs", ({ runPieces }) => {
  // Twenty thousand pieces, ten missing, and the connected peers have none of those ten.
  const PIECES = 20_000;
  const MISSING = [3, 777, 1500, 4242, 9001, 12_000, 15_000, 17_777, 19_000, 19_999];
  const allBut = (skip: readonly number[]) => Array.from({ length: PIECES }, (_, i) => i).filter((i) => !skip.includes(i));

  it("looks only at the eligible pieces, and asks the claim table once while nothing changes", async () => {
    const r = await rig({ pieceCount: PIECES, pieceBytes: BLOCK_BYTES, missing: MISSING, options: { runPieces } });
    const conn = r.connect(allBut(MISSING));
    // Pieces visited: every look at our own bitfield or at a peer's.
    const ours = vi.spyOn(r.have, "has");
    const theirs = vi.spyOn(conn.bitfield, "has");
    for (let i = 0; i < 5; i++) {
      r.scheduler.fill(conn);
      await r.probe.settle();
    }
    expect(ours.mock.calls.length + theirs.mock.calls.length).toBeLessThanOrEqual(5 * MISSING.length);
    expect(r.probe.count("counts")).toBe(1);
    expect(r.probe.count("claim")).toBe(0);

    // A peer announces one of the missing pieces: now there is something to claim.
    conn.bitfield.set(MISSING[4]!);
    r.scheduler.onPeerHas(MISSING[4]!);
    r.scheduler.fill(conn);
    await r.probe.settle();
    expect(r.probe.count("claim")).toBe(1);
    expect([...r.scheduler.active.keys()]).toEqual([MISSING[4]]);
  });

  it("makes a single claim-table round trip when two fills need one at once", async () => {
    const r = await rig({ pieceCount: PIECES, pieceBytes: BLOCK_BYTES, missing: MISSING, options: { runPieces } });
    const a = r.connect(allBut(MISSING));
    const b = r.connect(allBut(MISSING));
    r.probe.hold();
    r.scheduler.fill(a);
    r.scheduler.fill(b);
    await r.probe.settle();
    expect(r.probe.inFlight).toBe(1);
    r.probe.release();
    await r.probe.settle();
    expect(r.probe.maxInFlight).toBe(1);
    expect(r.probe.count("counts")).toBe(1);
  });

  it("makes a single claim-table round trip when fills race a claim", async () => {
    const r = await rig({ pieceCount: PIECES, pieceBytes: BLOCK_BYTES, missing: MISSING, options: { runPieces } });
    const a = r.connect(MISSING);
    const b = r.connect(MISSING);
    r.probe.hold();
    r.scheduler.fill(a);
    r.scheduler.fill(b);
    r.scheduler.fillAll();
    await r.probe.settle();
    expect(r.probe.inFlight).toBe(1);
    r.probe.release();
    await r.probe.settle();
    expect(r.probe.maxInFlight).toBe(1);
    expect(new Set(r.scheduler.active.keys())).toEqual(new Set(MISSING));
  });
});

describe("BlockScheduler in end-game", () => {
  const PIECES = 40;
  const PIECE_BYTES = 4 * BLOCK_BYTES;
  const BUDGET_PIECES = 4;

  it("keeps duplicates of other workers' pieces within the memory budget, taking up more as memory frees", async () => {
    const pool = new MeteredPool(0);
    const stored: number[] = [];
    let r: Rig | undefined;
    const onComplete = (p: ActivePiece) => {
      // What staging and the writer do: the buffer goes, and the piece is stored soon after.
      pool.release(p.buf!);
      p.buf = undefined;
      setImmediate(() => {
        stored.push(p.index);
        r!.have.set(p.index);
        r!.scheduler.onStored(p.index);
      });
    };
    const all = Array.from({ length: PIECES }, (_, i) => i);
    r = await rig({
      pieceCount: PIECES,
      pieceBytes: PIECE_BYTES,
      missing: all,
      hooks: { onComplete },
      // A deep pipeline spreads requests over many pieces, as several fast peers would.
      options: { maxBufferedBytes: BUDGET_PIECES * PIECE_BYTES, minPipeline: 64, maxPipeline: 64, pool },
    });
    // Another worker holds every piece: all this worker can do is end-game.
    expect(await r.probe.inner.claim(IH, "worker-other", all, PIECES)).toHaveLength(PIECES);
    const conn = r.connect(all);
    const socket = r.sockets.get(conn)!;
    r.scheduler.fill(conn);
    await r.probe.settle();
    expect(r.scheduler.endgame).toBe(true);

    // Serve every request, round after round, until nothing is left: first blocks of every piece
    // first, as when several peers serve different pieces at once, so each piece asked for holds a
    // buffer before any completes.
    const answered = new Set<string>();
    let peakActive = 0;
    for (let round = 0; round < 100 && stored.length < PIECES; round++) {
      peakActive = Math.max(peakActive, r.scheduler.active.size);
      const requests = socket.sentOf("request").sort((x, y) => x.begin - y.begin || x.index - y.index);
      for (const m of requests) {
        const id = `${m.index}/${m.begin}`;
        if (answered.has(id)) continue;
        answered.add(id);
        r.scheduler.onBlock(conn, m.index, m.begin, Buffer.alloc(m.length, m.index));
      }
      await r.probe.settle();
    }
    expect(peakActive).toBeLessThanOrEqual(BUDGET_PIECES);
    expect(pool.peak).toBeLessThanOrEqual(BUDGET_PIECES * PIECE_BYTES);
    expect(new Set(stored)).toEqual(new Set(all));
  });
});

describe("BlockScheduler in end-game across workers", () => {
  const PIECES = 8;
  const PIECE_BYTES = 4 * BLOCK_BYTES;
  const all = Array.from({ length: PIECES }, (_, i) => i);

  it("fetches other workers' claimed pieces only once none of its own is left in flight", async () => {
    const r = await rig({ pieceCount: PIECES, pieceBytes: PIECE_BYTES, missing: all });
    // Another worker holds every piece but 0: once this worker claims 0, nothing is missing.
    const others = all.slice(1);
    expect(await r.probe.inner.claim(IH, "worker-other", others, others.length)).toHaveLength(others.length);
    const conn = r.connect(all);
    const socket = r.sockets.get(conn)!;
    r.scheduler.fill(conn);
    await r.probe.settle();
    expect((await r.probe.inner.piece(IH, 0)).holder).toBe(WORKER);
    r.scheduler.fillAll();
    await r.probe.settle();
    expect(r.scheduler.endgame).toBe(true);
    // Its own piece is in flight: its link is kept for it, no other worker's piece is asked for.
    expect(new Set(socket.sentOf("request").map((m) => m.index))).toEqual(new Set([0]));

    for (const m of socket.sentOf("request")) r.scheduler.onBlock(conn, m.index, m.begin, Buffer.alloc(m.length));
    await r.probe.settle();
    // Piece 0 is done: now the spare capacity goes to the other worker's pieces.
    const asked = new Set(socket.sentOf("request").map((m) => m.index));
    expect([...asked].filter((i) => i !== 0).length).toBeGreaterThan(0);
  });
});

describe("BlockScheduler when a claimed piece has no source left", () => {
  const PIECES = 8;
  const all = Array.from({ length: PIECES }, (_, i) => i);
  const TIMEOUT_MS = 30_000;

  it("gives the claim back once no connection has had the piece for the timeout, by the injected clock", async () => {
    let clock = 1_000_000;
    const r = await rig({
      pieceCount: PIECES,
      pieceBytes: 2 * BLOCK_BYTES,
      missing: all,
      options: { now: () => clock, sourcelessClaimMs: TIMEOUT_MS },
    });
    const conn = r.connect([5]);
    r.scheduler.fill(conn);
    await r.probe.settle();
    expect((await r.probe.inner.piece(IH, 5)).holder).toBe(WORKER);

    // The only peer that has it goes away, as the swarm reports a closed connection.
    r.conns.splice(0);
    r.scheduler.onConnectionLost(conn);
    r.scheduler.tick(false);
    clock += TIMEOUT_MS - 1;
    r.scheduler.tick(false);
    await r.probe.settle();
    expect((await r.probe.inner.piece(IH, 5)).state).toBe("claimed");

    clock += 1;
    r.scheduler.tick(false);
    await r.probe.settle();
    expect((await r.probe.inner.piece(IH, 5)).state).toBe("missing");
    expect(r.scheduler.active.has(5)).toBe(false);
  });

  it("keeps the claim when a peer with the piece turns up within the timeout", async () => {
    let clock = 1_000_000;
    const r = await rig({
      pieceCount: PIECES,
      pieceBytes: 2 * BLOCK_BYTES,
      missing: all,
      options: { now: () => clock, sourcelessClaimMs: TIMEOUT_MS },
    });
    const first = r.connect([5]);
    r.scheduler.fill(first);
    await r.probe.settle();
    r.conns.splice(0);
    r.scheduler.onConnectionLost(first);
    r.scheduler.tick(false);
    clock += TIMEOUT_MS / 2;
    r.connect([5]);
    r.scheduler.tick(false);
    clock += TIMEOUT_MS;
    r.scheduler.tick(false);
    await r.probe.settle();
    expect((await r.probe.inner.piece(IH, 5)).holder).toBe(WORKER);
    expect(r.scheduler.active.has(5)).toBe(true);
  });
});

describe("BlockScheduler when staged pieces wait long to be stored", () => {
  const PIECES = 24;
  const PIECE_BYTES = 2 * BLOCK_BYTES;
  const BUDGET_PIECES = 4;

  /** Serves every request sent so far with the right length; returns how many were served. */
  function serveAll(r: Rig, conn: PeerConnection, answered: Set<string>): number {
    let n = 0;
    for (const m of r.sockets.get(conn)!.sentOf("request")) {
      const id = `${m.index}/${m.begin}`;
      if (answered.has(id)) continue;
      answered.add(id);
      r.scheduler.onBlock(conn, m.index, m.begin, Buffer.alloc(m.length, m.index));
      n++;
    }
    return n;
  }

  it.each([
    { handOff: true, grace: 0, expectAll: true },
    // Handed off but not past the grace (the clock stands still here): still counted.
    { handOff: true, grace: 60_000, expectAll: false },
    { handOff: false, grace: 0, expectAll: false },
  ])("claims on past the budget only once staged bytes are handed off and the grace is over (hand-off: $handOff, grace: $grace)", async ({ handOff, grace, expectAll }) => {
    const completed: number[] = [];
    let r: Rig | undefined;
    // Nothing is ever reported stored: the store holds every piece for a part that never fills.
    const onComplete = (p: ActivePiece) => {
      completed.push(p.index);
      p.buf = undefined;
      if (handOff) setImmediate(() => r!.scheduler.onHandedOff(p.index));
    };
    const all = Array.from({ length: PIECES }, (_, i) => i);
    r = await rig({ pieceCount: PIECES, pieceBytes: PIECE_BYTES, missing: all, hooks: { onComplete }, options: { maxBufferedBytes: BUDGET_PIECES * PIECE_BYTES, handOffGraceMs: grace } });
    const conn = r.connect(all);
    r.scheduler.fill(conn);
    const answered = new Set<string>();
    for (let round = 0; round < 200 && completed.length < PIECES; round++) {
      await r.probe.settle();
      serveAll(r, conn, answered);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await r.probe.settle();
    if (expectAll) {
      expect(new Set(completed)).toEqual(new Set(all));
      expect(r.scheduler.bufferedBytes()).toBe(0);
    } else {
      // Staged pieces hold their memory until stored: the budget caps the download.
      expect(completed.length).toBe(BUDGET_PIECES);
      expect(r.scheduler.bufferedBytes()).toBe(BUDGET_PIECES * PIECE_BYTES);
    }
  });
});
