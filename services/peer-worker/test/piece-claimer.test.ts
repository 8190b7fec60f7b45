import { describe, expect, it } from "vitest";
import { silentLogger } from "@shoal/service-kit";
import { Bitfield } from "@shoal/wire";
import { BLOCK_BYTES, type ActivePiece } from "../src/active-piece.js";
import type { PeerConnection } from "../src/connection.js";
import { FAILED_CALL_BACKOFF_MS, PieceClaimer, type ClaimerHost } from "../src/piece-claimer.js";
import { pickPieces } from "../src/picker.js";
import { ClaimTableProbe } from "./claim-table-probe.js";
import { seededRandom } from "./seeded-random.js";
import { stubConnection } from "./stub-socket.js";

const IH = "ab".repeat(20);
const WORKER = "worker-t";
const PIECE_BYTES = 2 * BLOCK_BYTES;

/** What the block scheduler is to the claimer, reduced to its bookkeeping. */
class StubHost implements ClaimerHost {
  readonly active = new Map<number, ActivePiece>();
  readonly pending = new Map<number, number>();
  readonly conns: PeerConnection[] = [];
  /** Every piece started, in the order the claimer started them. */
  readonly started: number[] = [];

  bufferedBytes(): number {
    return (this.active.size + this.pending.size) * PIECE_BYTES;
  }

  connections(): Iterable<PeerConnection> {
    return this.conns;
  }

  mayAsk(): boolean {
    return true;
  }

  start(p: ActivePiece): void {
    this.active.set(p.index, p);
    this.started.push(p.index);
  }

  fillAll(): void {}
}

interface Rig {
  readonly claimer: PieceClaimer;
  readonly host: StubHost;
  readonly probe: ClaimTableProbe;
  readonly have: Bitfield;
  readonly availability: Uint16Array;
  /** The other workers' counts, as the claim table last told them (AvailabilitySync's part). */
  readonly others: Uint16Array;
  /** A connection that has `pieces`, has unchoked us and interests us. */
  connect(pieces: Iterable<number>): PeerConnection;
  /** Every piece in progress here is downloaded, verified and stored. */
  storeActive(): void;
  /** Asks for `pieces` more and waits for the claim table's answer; returns the pieces started. */
  want(pieces: number): Promise<number[]>;
}

async function rig(opts: { pieceCount: number; runPieces: number; budgetPieces: number; stored?: readonly number[]; seed?: number }): Promise<Rig> {
  const probe = new ClaimTableProbe();
  await probe.inner.createTorrent(IH, opts.pieceCount, opts.stored ?? []);
  const have = new Bitfield(opts.pieceCount);
  for (const i of opts.stored ?? []) have.set(i);
  const availability = new Uint16Array(opts.pieceCount);
  const others = new Uint16Array(opts.pieceCount);
  const host = new StubHost();
  const claimer = new PieceClaimer(
    {
      infoHash: IH,
      workerId: WORKER,
      pieceCount: opts.pieceCount,
      pieceLength: () => PIECE_BYTES,
      maxBufferedBytes: opts.budgetPieces * PIECE_BYTES,
      runPieces: opts.runPieces,
      now: () => 0,
      random: seededRandom(opts.seed ?? 3),
    },
    have,
    availability,
    others,
    probe.table,
    host,
    silentLogger(),
  );
  return {
    claimer,
    host,
    probe,
    have,
    availability,
    others,
    connect(pieces) {
      const { conn } = stubConnection({ pieceCount: opts.pieceCount, key: `10.0.0.${host.conns.length + 1}:6881` });
      for (const i of pieces) conn.bitfield.set(i);
      conn.peerChoking = false;
      conn.amInterested = true;
      host.conns.push(conn);
      for (const i of pieces) {
        availability[i]!++;
        claimer.onPeerHas(i);
      }
      return conn;
    },
    storeActive() {
      for (const i of [...host.active.keys()]) {
        host.active.delete(i);
        have.set(i);
        void probe.inner.store(IH, { piece: i, attempt: 1 });
        claimer.reconsider(i);
      }
    },
    async want(pieces) {
      const before = host.started.length;
      claimer.want(pieces);
      await probe.settle();
      return host.started.slice(before);
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

describe("PieceClaimer with claim runs", () => {
  it("claims a run only as far as the memory budget allows, and finishes it before opening the next", async () => {
    const RUN = 8;
    const r = await rig({ pieceCount: 32, runPieces: RUN, budgetPieces: 3 });
    r.connect(range(0, 32));
    const batches: number[][] = [];
    for (let round = 0; round < 20 && !r.have.isComplete(); round++) {
      // The claims of one round stay in memory until the next: the budget caps each batch.
      batches.push(await r.want(10));
      r.storeActive();
    }
    expect(r.have.isComplete()).toBe(true);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(3);
    // One window at a time, each from its first piece to its last: a run never waits half done.
    const order = batches.flat();
    const windows = [...new Set(order.map((i) => Math.floor(i / RUN)))];
    expect(windows).toHaveLength(4);
    expect(order).toEqual(windows.flatMap((w) => range(w * RUN, (w + 1) * RUN)));
  });

  it("finishes a window begun elsewhere (a piece of it stored) before opening a new one", async () => {
    // Pieces 8-11 stored by another worker: window 1 is half done, a part the store holds open.
    const r = await rig({ pieceCount: 32, runPieces: 8, budgetPieces: 16, stored: range(8, 12) });
    r.connect(range(0, 32));
    expect((await r.want(6)).slice(0, 4)).toEqual([12, 13, 14, 15]);
  });

  it("continues next to a finished window before opening a rarer one elsewhere", async () => {
    // Window 1 finished; window 3 is the rarest, but a part may straddle windows 1 and 2, or 0
    // and 1, and stays open until its other side is done.
    const r = await rig({ pieceCount: 32, runPieces: 8, budgetPieces: 16, stored: range(8, 16) });
    r.connect(range(0, 32));
    r.connect(range(0, 24));
    const first = await r.want(8);
    expect([range(0, 8), range(16, 24)]).toContainEqual(first);
  });

  it("passes over the pieces of a run that another worker holds, and goes on with the run", async () => {
    // Window 4 stored already, so availability counts (no random first pieces); no peer has the
    // pieces of window 3 next to it.
    const r = await rig({ pieceCount: 40, runPieces: 8, budgetPieces: 16, stored: range(32, 40) });
    expect(await r.probe.inner.claim(IH, "worker-other", [2, 3], 2)).toHaveLength(2);
    r.connect(range(0, 16));
    // A second peer makes window 1's pieces commoner: window 0 is the rarest.
    r.connect(range(8, 16));
    expect(await r.want(6)).toEqual([0, 1, 4, 5, 6, 7]);
    expect(await r.want(6)).toEqual([8, 9, 10, 11, 12, 13]);
    expect(await r.want(6)).toEqual([14, 15]);
    // Nothing else can be claimed here: the held pieces are not asked for again, nor is the
    // table asked twice while nothing changes.
    const claimsBefore = r.probe.count("claim");
    r.storeActive();
    expect(await r.want(6)).toEqual([]);
    expect(await r.want(6)).toEqual([]);
    expect(r.probe.count("claim")).toBe(claimsBefore);
    expect(r.probe.count("counts")).toBe(1);
  });

  it("takes up another worker's claims only in end-game, piece by piece", async () => {
    const r = await rig({ pieceCount: 16, runPieces: 8, budgetPieces: 16, stored: range(8, 16) });
    expect(await r.probe.inner.claim(IH, "worker-other", [2, 3], 2)).toHaveLength(2);
    r.connect(range(0, 16));
    expect(await r.want(8)).toEqual([0, 1, 4, 5, 6, 7]);
    r.storeActive();
    expect(await r.want(8)).toEqual([2, 3]);
    expect(r.claimer.endgame).toBe(true);
    expect([...r.host.active.values()].map((p) => p.owned)).toEqual([false, false]);
  });
});

describe("PieceClaimer with the cluster's availability", () => {
  it("claims first the pieces the rest of the cluster lacks, though its own connections have every piece alike", async () => {
    const pieceCount = 48;
    const stored = range(0, 4);
    const r = await rig({ pieceCount, runPieces: 0, budgetPieces: 48, stored, seed: 5 });
    r.connect(range(0, 48));
    // The other workers' peers have everything but pieces 30 to 33.
    r.others.fill(3);
    r.others.fill(0, 30, 34);
    expect((await r.want(4)).sort((a, b) => a - b)).toEqual([30, 31, 32, 33]);
  });
});

describe("PieceClaimer with runs off", () => {
  it("claims exactly what the per-piece rarest-first pick picks", async () => {
    const pieceCount = 64;
    const stored = range(0, 8);
    const r = await rig({ pieceCount, runPieces: 0, budgetPieces: 64, stored, seed: 11 });
    const conns = [r.connect(range(0, 64)), r.connect(range(8, 40)), r.connect(range(30, 50).filter((i) => i % 3 !== 0))];
    const started = await r.want(6);
    const expected = pickPieces({
      pieceCount,
      candidates: range(8, 64),
      peerHas: (i) => conns.some((c) => c.bitfield.has(i)),
      skip: () => false,
      availability: r.availability,
      havePieces: stored.length,
      max: 24,
      random: seededRandom(11),
    }).slice(0, 6);
    expect(started).toEqual(expected);
    // Rarest first all over the torrent: not a run of consecutive pieces.
    expect(started.map((i) => r.availability[i])).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe("PieceClaimer when the claim table fails", () => {
  it("does not ask a table that fails at once again before the back-off, however often it is asked to fill", async () => {
    let clock = 1_000;
    let claims = 0;
    // Fails at once, as a store refusing commands does; after 50 calls it answers, so that a
    // claimer that loops on the failure ends the loop and the case can report it.
    const table = {
      claim: async () => {
        claims++;
        if (claims <= 50) throw new Error("refused");
        return [];
      },
    } as unknown as import("@shoal/coordination").ClaimTable;
    const host = new StubHost();
    const claimer = new PieceClaimer(
      { infoHash: IH, workerId: WORKER, pieceCount: 8, pieceLength: () => PIECE_BYTES, maxBufferedBytes: 8 * PIECE_BYTES, runPieces: 0, now: () => clock, random: seededRandom(5) },
      new Bitfield(8),
      new Uint16Array(8).fill(1),
      new Uint16Array(8),
      table,
      // The scheduler fills every connection again when the claimer is done: each asks for more.
      Object.assign(host, { fillAll: () => claimer.want(4) }),
      silentLogger(),
    );
    const { conn } = stubConnection({ pieceCount: 8, key: "10.0.0.1:6881" });
    for (let i = 0; i < 8; i++) conn.bitfield.set(i);
    conn.peerChoking = false;
    conn.amInterested = true;
    host.conns.push(conn);

    claimer.want(4);
    claimer.want(4);
    await new Promise((r) => setTimeout(r, 20));
    expect(claims).toBe(1);
    // Within the back-off nothing is asked; after it, the next fill asks again.
    clock += FAILED_CALL_BACKOFF_MS - 1;
    claimer.want(4);
    await new Promise((r) => setTimeout(r, 20));
    expect(claims).toBe(1);
    clock += 1;
    claimer.want(4);
    await new Promise((r) => setTimeout(r, 20));
    expect(claims).toBe(2);
  });
});
