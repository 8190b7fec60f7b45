import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Inbox } from "@shoal/contract-tests";
import {
  MemoryBus,
  MemoryClaimTable,
  checkInvariants,
  type Claim,
  type ClaimTable,
  type ObjectStore,
  type StagedRef,
  type SubjectPayloads,
} from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import { silentLogger, type RunningService } from "@shoal/service-kit";
import { start, writerConfigSchema } from "../src/index.js";
import { writeVerified, type WriteStats } from "../src/handlers/write-verified.js";
import { HeldPieces } from "../src/held-pieces.js";
import { until } from "../../../test/sim/wait.js";

/*
 * A writer whose store keeps pieces in memory until their part is complete (as the S3 store
 * does) holds those pieces under its lease, so a writer that dies with them does not leave them
 * verified forever with nobody having their bytes.
 */

const IH = "5a".repeat(20);
const PIECES = 4;
/** Long next to a test, so the writer's own heartbeat timer (a third of it) never fires in one. */
const LEASE_TTL_SECONDS = 30;
const WRITER = "writer-a";

/**
 * A store that, like an S3 store assembling a part, keeps pieces 0 and 1 until both arrived and
 * then reports both durable; pieces 2 and 3 are durable at once.
 */
class PairingStore {
  readonly deleted: StagedRef[] = [];
  private readonly waiting = new Set<number>();
  /** Runs inside writePiece, before it returns. */
  duringWrite: (piece: number) => Promise<void> = async () => {};

  readonly aborted: string[] = [];
  async openTorrent(): Promise<void> {}
  async abortTorrent(infoHash: string): Promise<void> {
    this.aborted.push(infoHash);
  }
  async closeTorrent(): Promise<void> {}
  async getStaged(ref: StagedRef): Promise<Buffer> {
    return Buffer.alloc(100, ref.piece);
  }
  async deleteStaged(ref: StagedRef): Promise<void> {
    this.deleted.push(ref);
  }
  async writePiece(_ih: string, piece: number): Promise<readonly number[]> {
    await this.duringWrite(piece);
    // As the S3 store: a unit's pieces are reported durable once, then each alone when written again.
    if (piece >= 2 || this.reported.has(piece)) return [piece];
    this.waiting.add(piece);
    if (this.waiting.size < 2) return [];
    for (const p of this.waiting) this.reported.add(p);
    return [0, 1];
  }
  private readonly reported = new Set<number>();
}

/** A claim table as a killed process sees it: after `kill`, nothing it sends arrives. */
function killable(inner: ClaimTable): { claims: ClaimTable; kill(): void; heartbeats: () => number } {
  let killed = false;
  let heartbeats = 0;
  const claims = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (killed) return Promise.reject(new Error("the process was killed"));
        if (name === "heartbeat") heartbeats++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { claims, kill: () => void (killed = true), heartbeats: () => heartbeats };
}

const torrents = { get: async () => ({ layout: {} }) } as unknown as TorrentInfoCache;

let now: number;
let table: MemoryClaimTable;
let bus: MemoryBus;
let store: PairingStore;
let services: RunningService[];

beforeEach(async () => {
  now = 1_000_000;
  table = new MemoryClaimTable(() => now);
  bus = new MemoryBus();
  store = new PairingStore();
  services = [];
  await table.createTorrent(IH, PIECES, []);
  await table.heartbeat(IH, "worker", 3_600_000);
});

afterEach(async () => {
  for (const s of services) await s.stop();
  await bus.close();
  expect(checkInvariants(await table.pieces(IH))).toEqual([]);
  await table.close();
});

/** The staging key of a staged piece's message. */
const refOf = ({ peers: _, ...ref }: SubjectPayloads["piece_staged"]) => ref;

/** Takes `piece` through claim, stage and verify by a peer-worker; returns its piece_staged. */
async function verified(piece: number): Promise<SubjectPayloads["piece_staged"]> {
  const [claim] = await table.claim(IH, "worker", [piece], 1);
  expect(await table.stage(IH, "worker", claim!)).toBe("ok");
  expect(await table.verify(IH, claim!)).toBe("ok");
  return { infoHash: IH, piece, attempt: claim!.attempt, workerId: "worker", peers: [] };
}

async function startWriter(claims: ClaimTable = table, leaseTtlSeconds = LEASE_TTL_SECONDS): Promise<RunningService> {
  const config = writerConfigSchema.parse({ writerId: WRITER, leaseTtlSeconds });
  const service = await start(config, { claims, store: store as unknown as ObjectStore, bus, torrents, logger: silentLogger() });
  services.push(service);
  return service;
}

const heldBy = async (piece: number) => (await table.piece(IH, piece)).holder;

describe("storage-writer leases on the pieces its store keeps", () => {
  it("a killed writer's held pieces go back to missing once its lease lapses, at the owner's next sweep", async () => {
    const { claims, kill } = killable(table);
    await startWriter(claims);
    const stored = new Inbox<number>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m.piece));
    await bus.publish("piece_staged", await verified(0));
    await bus.publish("piece_staged", await verified(2));
    await stored.count(1, "piece 2 stored");
    await until(async () => (await heldBy(0)) === WRITER, { timeoutMs: 2_000, what: "piece 0 held by the writer" });
    await bus.drain();

    // kill -9: no heartbeat, no release, nothing more from this process.
    kill();
    now += (LEASE_TTL_SECONDS - 1) * 1000;
    expect(await table.expireLeases(IH)).toEqual([]);
    now += 2_000;
    expect(await table.expireLeases(IH)).toEqual([{ piece: 0, attempt: 1 }]);
    expect((await table.pieces(IH)).map((p) => p.state)).toEqual(["missing", "missing", "stored", "missing"]);
    expect(await table.counts(IH)).toEqual({ missing: 3, claimed: 0, staged: 0, verified: 0, stored: 1, skipped: 0 });
    // Missing again, the piece is claimed afresh and can complete the torrent.
    expect(await table.claim(IH, "worker", [0], 1)).toEqual([{ piece: 0, attempt: 2 }]);
    expect(checkInvariants(await table.pieces(IH), new Set(["worker"]))).toEqual([]);
  });

  it("a stopping writer gives its held pieces back at once and announces them with piece_failed", async () => {
    const writer = await startWriter();
    const failed = new Inbox<SubjectPayloads["piece_failed"]>();
    await bus.subscribe("piece_failed", IH, (m) => failed.push(m));
    const msg = await verified(1);
    await bus.publish("piece_staged", msg);
    await until(async () => (await heldBy(1)) === WRITER, { timeoutMs: 2_000, what: "piece 1 held by the writer" });
    await bus.drain();
    expect(writer.status()).toMatchObject({ held: 1, stored: 0 });

    await writer.stop();
    expect(await table.piece(IH, 1)).toEqual({ state: "missing", attempt: msg.attempt });
    expect(await failed.count(1, "piece_failed for the released piece")).toEqual([{ infoHash: IH, piece: 1, attempt: msg.attempt, peers: [] }]);
    expect(store.deleted).toContainEqual(refOf(msg));
    expect(writer.status()).toMatchObject({ held: 0 });
    // Nothing is left under the writer's lease.
    now += 2 * LEASE_TTL_SECONDS * 1000;
    expect(await table.expireLeases(IH)).toEqual([]);
  });

  it("drops a held piece that went back to missing instead of marking it stored when its part completes", async () => {
    const writer = await startWriter();
    const stored = new Inbox<number>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m.piece));
    const first = await verified(0);
    await bus.publish("piece_staged", first);
    await until(async () => (await heldBy(0)) === WRITER, { timeoutMs: 2_000, what: "piece 0 held by the writer" });
    await bus.drain();
    // The writer stays up but its lease lapses (it could not reach the table for a while).
    now += (LEASE_TTL_SECONDS + 1) * 1000;
    expect(await table.expireLeases(IH)).toEqual([{ piece: 0, attempt: first.attempt }]);

    await bus.publish("piece_staged", await verified(1));
    await stored.count(1, "piece 1 stored");
    await bus.drain();
    expect(stored.items).toEqual([1]);
    expect(await table.piece(IH, 0)).toEqual({ state: "missing", attempt: first.attempt });
    expect(writer.status()).toMatchObject({ stored: 1, stale: 1, writtenBytes: 100, held: 0 });
    expect(store.deleted).toContainEqual(refOf(first));
  });

  it("marks a piece stored at a later heartbeat when the claim table failed as its part completed", async () => {
    // The table refuses the first `store`: Redis went away just as the part's upload finished.
    let failStores = 1;
    const flaky = new Proxy(table, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (name === "store" && failStores-- > 0) return Promise.reject(new Error("redis.store: the connection closed"));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    // A short lease, so the heartbeats that retry the mark come within the test.
    const writer = await startWriter(flaky, 0.3);
    const stored = new Inbox<number>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m.piece));
    await bus.publish("piece_staged", await verified(0));
    await until(async () => (await heldBy(0)) === WRITER, { timeoutMs: 2_000, what: "piece 0 held by the writer" });
    // Piece 1 completes the part: the store reports 0 and 1 durable, once; marking 0 fails.
    await bus.publish("piece_staged", await verified(1));
    await until(async () => (await table.piece(IH, 0)).state === "stored" && (await table.piece(IH, 1)).state === "stored", {
      timeoutMs: 5_000,
      what: "both pieces of the part stored",
    });
    expect([...(await stored.count(2, "piece_stored of both"))].sort()).toEqual([0, 1]);
    expect(writer.status()).toMatchObject({ stored: 2, held: 0 });
  });

  it("gives a cancelled torrent's held pieces back, and keeps them when the torrent's owner only stops", async () => {
    const writer = await startWriter();
    await bus.publish("piece_staged", await verified(0));
    await until(async () => (await heldBy(0)) === WRITER, { timeoutMs: 2_000, what: "piece 0 held by the writer" });
    await bus.drain();

    // Another owner takes the job over and continues with what this writer holds.
    await bus.publish("torrent_finished", { infoHash: IH, reason: "stopped" });
    await bus.drain();
    expect(await heldBy(0)).toBe(WRITER);
    expect(writer.status()).toMatchObject({ held: 1 });

    await bus.publish("torrent_finished", { infoHash: IH, reason: "cancelled" });
    await bus.drain();
    expect(await table.piece(IH, 0)).toEqual({ state: "missing", attempt: 1 });
    expect(writer.status()).toMatchObject({ held: 0 });
    expect(store.aborted).toEqual([IH]);
  });

  it("heartbeats the lease of a torrent while it holds pieces there, every third of the lease", async () => {
    const { claims, heartbeats } = killable(table);
    // A short lease: the writer's own timer beats every 100 ms.
    await startWriter(claims, 0.3);
    await bus.publish("piece_staged", await verified(0));
    await until(async () => (await heldBy(0)) === WRITER, { timeoutMs: 2_000, what: "piece 0 held by the writer" });
    const before = heartbeats();
    await until(() => heartbeats() >= before + 3, { timeoutMs: 3_000, what: "three heartbeats while piece 0 is held" });
  });
});

describe("HeldPieces", () => {
  const handler = (held: HeldPieces) => ({ claims: table, store: store as unknown as ObjectStore, bus, logger: silentLogger(), ensureOpen: async () => undefined, held });
  const stats = (): WriteStats => ({ stored: 0, stale: 0, writtenBytes: 0 });

  it("keeps the lease of a torrent only while it holds pieces there", async () => {
    const ttlMs = LEASE_TTL_SECONDS * 1000;
    const held = new HeldPieces(table, WRITER, ttlMs, silentLogger());
    await writeVerified(handler(held), await verified(0), stats());
    expect(held.leasedTorrents()).toEqual([IH]);
    // Beats keep the held piece past the first lease's end.
    now += ttlMs * 0.6;
    await held.heartbeat();
    now += ttlMs * 0.6;
    expect(await table.expireLeases(IH)).toEqual([]);
    expect(await heldBy(0)).toBe(WRITER);

    // Its part completes: nothing is held, the torrent is no longer beaten for.
    await writeVerified(handler(held), await verified(1), stats());
    expect((await table.pieces(IH)).map((p) => p.state)).toEqual(["stored", "stored", "missing", "missing"]);
    expect(held.leasedTorrents()).toEqual([]);
    expect(held.size).toBe(0);
  });

  it("drops a piece the table refuses to hold (it left verified during the write) and its staging", async () => {
    const held = new HeldPieces(table, WRITER, LEASE_TTL_SECONDS * 1000, silentLogger());
    const msg = await verified(0);
    // The staged bytes were found lost elsewhere meanwhile: the piece went back to missing.
    store.duringWrite = async () => void (await table.unstage(IH, { piece: 0, attempt: msg.attempt }));
    const s = stats();
    await writeVerified(handler(held), msg, s);
    expect(held.size).toBe(0);
    expect(held.leasedTorrents()).toEqual([]);
    expect(s.stale).toBe(1);
    expect(store.deleted).toContainEqual(refOf(msg));
    expect(await table.piece(IH, 0)).toEqual({ state: "missing", attempt: msg.attempt });
  });

  it("releases only what it holds, and reports what went back", async () => {
    const held = new HeldPieces(table, WRITER, LEASE_TTL_SECONDS * 1000, silentLogger());
    const msg = await verified(0);
    await writeVerified(handler(held), msg, stats());
    // A piece handed to the store but never held (the writer stops in the middle of its write).
    const other = await verified(1);
    held.add(other, 100);
    const released: Claim[] = (await held.release()).map((r) => r.claim);
    expect(released).toEqual([{ piece: 0, attempt: msg.attempt }]);
    expect(await table.piece(IH, 1)).toEqual({ state: "verified", attempt: other.attempt });
    expect(held.size).toBe(0);
  });
});
