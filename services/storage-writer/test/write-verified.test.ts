import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { Inbox } from "@shoal/contract-tests";
import {
  MemoryBus,
  MemoryCatalog,
  MemoryClaimTable,
  StorageError,
  checkInvariants,
  type ObjectStore,
  type SubjectPayloads,
} from "@shoal/coordination";
import { ShoalError } from "@shoal/errors";
import { TorrentInfoCache, parseInfoDict } from "@shoal/metainfo";
import { silentLogger, type RunningService } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
import { start, writerConfigSchema } from "../src/index.js";
import { writeVerified, type WriteStats } from "../src/handlers/write-verified.js";
import { HeldPieces } from "../src/held-pieces.js";

/*
 * The storage-writer over the memory claim table and bus and the filesystem store, the way
 * embedded mode runs it. Pieces are driven through the claim table to `verified` and staged in
 * the store, as the worker and the verifier would leave them, before the writer sees a message.
 */

const PIECE_LENGTH = 32;
const NAME = "album";
/** Two files, so piece 1 (bytes 32..63) crosses from the first file into the second. */
const FILES = [
  { path: ["a.bin"], length: 40 },
  { path: ["sub", "b.bin"], length: 50 },
];
const PAYLOAD = Buffer.from(Array.from({ length: 90 }, (_, i) => (i * 7 + 3) & 0xff));
const PIECE_COUNT = Math.ceil(PAYLOAD.length / PIECE_LENGTH);

function pieceBytes(index: number): Buffer {
  return PAYLOAD.subarray(index * PIECE_LENGTH, Math.min(PAYLOAD.length, (index + 1) * PIECE_LENGTH));
}

const INFO_BYTES = encode({
  files: FILES.map((f) => ({ length: f.length, path: f.path })),
  name: NAME,
  "piece length": PIECE_LENGTH,
  pieces: Buffer.concat(Array.from({ length: PIECE_COUNT }, (_, i) => createHash("sha1").update(pieceBytes(i)).digest())),
});
const META = parseInfoDict(INFO_BYTES);
const IH = META.infoHashHex;
const WORKER = "worker-1";

/** Decorates a store to record calls and to fail chosen writes, leaving the real store to do the work. */
class RecordingStore implements ObjectStore {
  readonly writes: number[] = [];
  /** Errors thrown by the next writePiece calls, in order. */
  readonly failNextWrites: Error[] = [];
  /** Runs inside writePiece, after the bytes are written and before it returns. */
  duringWrite: (piece: number) => Promise<void> = async () => {};

  constructor(private readonly inner: ObjectStore) {}

  openTorrent: ObjectStore["openTorrent"] = (layout) => this.inner.openTorrent(layout);
  putStaged: ObjectStore["putStaged"] = (ref, data) => this.inner.putStaged(ref, data);
  getStaged: ObjectStore["getStaged"] = (ref) => this.inner.getStaged(ref);
  deleteStaged: ObjectStore["deleteStaged"] = (ref) => this.inner.deleteStaged(ref);
  readRange: ObjectStore["readRange"] = (ih, offset, length) => this.inner.readRange(ih, offset, length);
  finalize: ObjectStore["finalize"] = (ih) => this.inner.finalize(ih);
  discardDamaged: ObjectStore["discardDamaged"] = (ih, pieces) => this.inner.discardDamaged(ih, pieces);
  abortTorrent: ObjectStore["abortTorrent"] = (ih) => this.inner.abortTorrent(ih);
  closeTorrent: ObjectStore["closeTorrent"] = (ih) => this.inner.closeTorrent(ih);
  close: ObjectStore["close"] = () => this.inner.close();

  async writePiece(infoHash: string, piece: number, data: Uint8Array): Promise<readonly number[]> {
    const failure = this.failNextWrites.shift();
    if (failure) throw failure;
    const durable = await this.inner.writePiece(infoHash, piece, data);
    this.writes.push(piece);
    await this.duringWrite(piece);
    return durable;
  }
}

let root = "";
let claims: MemoryClaimTable;
let bus: MemoryBus;
let store: RecordingStore;
let torrents: TorrentInfoCache;
let handlerErrors: unknown[];
let services: RunningService[];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "shoal-writer-"));
  claims = new MemoryClaimTable();
  handlerErrors = [];
  bus = new MemoryBus((err) => handlerErrors.push(err));
  store = new RecordingStore(new FsObjectStore(root));
  const catalog = new MemoryCatalog();
  await catalog.put({ infoHash: IH, infoBytes: INFO_BYTES, announceTiers: [], destination: root, private: false });
  torrents = new TorrentInfoCache(async (ih) => catalog.get(ih));
  services = [];
  await claims.createTorrent(IH, PIECE_COUNT, []);
});

afterEach(async () => {
  for (const s of services) await s.stop();
  await bus.close();
  await store.close();
  expect(checkInvariants(await claims.pieces(IH))).toEqual([]);
  await claims.close();
  rmSync(root, { recursive: true, force: true });
});

/** Takes `piece` through claim, stage and verify, staging its bytes; returns its message. */
async function verifiedPiece(piece: number): Promise<SubjectPayloads["piece_staged"]> {
  const [claim] = await claims.claim(IH, WORKER, [piece], 1);
  if (!claim) throw new Error(`piece ${piece} could not be claimed`);
  expect(await claims.stage(IH, WORKER, claim)).toBe("ok");
  await store.putStaged({ infoHash: IH, piece, attempt: claim.attempt, workerId: WORKER }, Buffer.from(pieceBytes(piece)));
  expect(await claims.verify(IH, claim)).toBe("ok");
  return { infoHash: IH, piece, attempt: claim.attempt, workerId: WORKER, peers: [] };
}

async function startWriter(): Promise<void> {
  const config = writerConfigSchema.parse({});
  services.push(await start(config, { claims, store, bus, torrents, logger: silentLogger() }));
}

/** The handler alone, as the service wires it. */
function handlerDeps() {
  return {
    claims,
    store,
    bus,
    logger: silentLogger(),
    ensureOpen: async (ih: string) => store.openTorrent((await torrents.get(ih)).layout),
    held: new HeldPieces(claims, "writer-1", 60_000, silentLogger()),
  };
}

const freshStats = (): WriteStats => ({ stored: 0, stale: 0, writtenBytes: 0 });

/** The bytes of the final files, read behind the store's back. */
function filesOnDisk(): Buffer {
  return Buffer.concat(FILES.map((f) => readFileSync(join(root, NAME, ...f.path))));
}

async function stagedExists(msg: SubjectPayloads["piece_staged"]): Promise<boolean> {
  try {
    await store.getStaged(msg);
    return true;
  } catch (err) {
    if (err instanceof StorageError && err.code === "NOT_FOUND") return false;
    throw err;
  }
}

describe("storage-writer", () => {
  it("writes a verified piece across its files, then marks it stored, drops staging and publishes piece_stored", async () => {
    const stored = new Inbox<SubjectPayloads["piece_stored"]>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m));
    // The claim must still say verified while the write is under way: stored comes only after it.
    const statesDuringWrite: string[] = [];
    store.duringWrite = async (piece) => void statesDuringWrite.push((await claims.piece(IH, piece)).state);
    await startWriter();

    const messages = [];
    for (let piece = 0; piece < PIECE_COUNT; piece++) messages.push(await verifiedPiece(piece));
    for (const m of messages) await bus.publish("piece_staged", m);
    await stored.count(PIECE_COUNT, "piece_stored messages");

    expect([...stored.items].sort((a, b) => a.piece - b.piece)).toEqual(messages.map(({ workerId: _, peers: __, ...m }) => m));
    expect(statesDuringWrite).toEqual(["verified", "verified", "verified"]);
    expect(filesOnDisk().equals(PAYLOAD)).toBe(true);
    expect(await claims.piecesIn(IH, "stored")).toEqual([0, 1, 2]);
    for (const m of messages) expect(await stagedExists(m)).toBe(false);
    expect(services[0]!.status()).toEqual({ stored: 3, stale: 0, writtenBytes: PAYLOAD.length, held: 0, dropped: 0, polls: 0, awaitingVerdict: 0, awaitingVerdictBytes: 0 });
    expect(handlerErrors).toEqual([]);
  });

  it("treats a duplicate message for a piece already stored as done: no second write, no second piece_stored", async () => {
    const msg = await verifiedPiece(1);
    const stats = freshStats();
    const published = new Inbox<number>();
    await bus.subscribe("piece_stored", IH, (m) => published.push(m.piece));

    await writeVerified(handlerDeps(), msg, stats);
    // A redelivery after the ack was lost may also find the staged copy back (another writer
    // staged under the same key): it is dropped again instead of lingering.
    await store.putStaged(msg, Buffer.from(pieceBytes(1)));
    await writeVerified(handlerDeps(), msg, stats);
    await bus.drain();

    expect(store.writes).toEqual([1]);
    expect(published.items).toEqual([1]);
    expect(stats).toEqual({ stored: 1, stale: 1, writtenBytes: pieceBytes(1).length });
    expect(await claims.piece(IH, 1)).toMatchObject({ state: "stored" });
    expect(await stagedExists(msg)).toBe(false);
  });

  it("drops a late message of an older attempt without touching the current attempt's bytes", async () => {
    // Attempt 1 was staged and then rejected by the verifier; attempt 2 is verified now.
    const [first] = await claims.claim(IH, WORKER, [2], 1);
    await claims.stage(IH, WORKER, first!);
    await claims.reject(IH, first!, []);
    const current = await verifiedPiece(2);
    expect(current.attempt).toBe(2);
    const stats = freshStats();

    await writeVerified(handlerDeps(), { ...current, attempt: 1 }, stats);

    expect(store.writes).toEqual([]);
    expect(stats).toEqual({ stored: 0, stale: 1, writtenBytes: 0 });
    expect(await claims.piece(IH, 2)).toMatchObject({ state: "verified", attempt: 2 });
    expect(await stagedExists(current)).toBe(true);

    // The current attempt still goes through.
    await writeVerified(handlerDeps(), current, stats);
    expect(await claims.piece(IH, 2)).toMatchObject({ state: "stored", attempt: 2 });
  });

  it("drops a message that arrives before its piece is verified (a piece_verified overtaken by a restart)", async () => {
    const [claim] = await claims.claim(IH, WORKER, [0], 1);
    await claims.stage(IH, WORKER, claim!);
    const stats = freshStats();
    await writeVerified(handlerDeps(), { infoHash: IH, piece: 0, attempt: claim!.attempt, workerId: WORKER }, stats);
    expect(store.writes).toEqual([]);
    expect(stats.stale).toBe(1);
    expect(await claims.piece(IH, 0)).toMatchObject({ state: "staged" });
  });

  it("lets a retryable store error reach the bus, which redelivers until the write succeeds", async () => {
    const retryable = new StorageError("IO", "fs.writePiece failed on a.bin: EIO", { retryable: true, context: { op: "fs.writePiece" } });
    store.failNextWrites.push(retryable);
    const stored = new Inbox<SubjectPayloads["piece_stored"]>();
    const failed = new Inbox<SubjectPayloads["storage_failed"]>();
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m));
    await bus.subscribe("storage_failed", IH, (m) => failed.push(m));
    await startWriter();

    await bus.publish("piece_staged", await verifiedPiece(0));
    await stored.count(1, "piece_stored after the redelivery");

    expect(handlerErrors).toEqual([retryable]);
    expect(store.writes).toEqual([0]);
    expect(failed.items).toEqual([]);
    // Piece 0 lies inside the first file.
    expect(readFileSync(join(root, NAME, "a.bin")).subarray(0, PIECE_LENGTH).equals(pieceBytes(0))).toBe(true);
  });

  it("rethrows a retryable error from the handler and leaves the piece verified and staged", async () => {
    const msg = await verifiedPiece(0);
    store.failNextWrites.push(new StorageError("IO", "fs.writePiece failed: EAGAIN", { retryable: true }));
    await expect(writeVerified(handlerDeps(), msg, freshStats())).rejects.toMatchObject({ code: "IO", retryable: true });
    expect(await claims.piece(IH, 0)).toMatchObject({ state: "verified" });
    expect(await stagedExists(msg)).toBe(true);
  });

  it("publishes storage_failed with the StorageError when the store refuses for good, keeping the piece verified and staged", async () => {
    // A regular file where the torrent's directory must go: no retry can create the directory.
    writeFileSync(join(root, NAME), "in the way");
    const failed = new Inbox<SubjectPayloads["storage_failed"]>();
    const stored = new Inbox<SubjectPayloads["piece_stored"]>();
    await bus.subscribe("storage_failed", IH, (m) => failed.push(m));
    await bus.subscribe("piece_stored", IH, (m) => stored.push(m));
    await startWriter();

    const msg = await verifiedPiece(0);
    await bus.publish("piece_staged", msg);
    const [report] = await failed.count(1, "storage_failed");

    expect(report).toMatchObject({ infoHash: IH, piece: 0 });
    const error = ShoalError.fromJSON(report!.error);
    expect(error.name).toBe("StorageError");
    expect(error.code).toBe("IO");
    expect(error.retryable).toBe(false);
    expect(error.context["op"]).toBe("fs.mkdir");
    expect(["ENOTDIR", "EEXIST"]).toContain(error.context["errno"]);
    // Handled, not thrown: the bus must not redeliver a write that cannot succeed.
    await bus.drain();
    expect(handlerErrors).toEqual([]);
    expect(stored.items).toEqual([]);
    expect(await claims.piece(IH, 0)).toMatchObject({ state: "verified" });
    expect(await stagedExists(msg)).toBe(true);
  });

  it("sends a piece whose verified bytes were lost back to missing and publishes piece_failed", async () => {
    const msg = await verifiedPiece(2);
    await store.deleteStaged(msg);
    const failed = new Inbox<SubjectPayloads["piece_failed"]>();
    await bus.subscribe("piece_failed", IH, (m) => failed.push(m));

    await writeVerified(handlerDeps(), msg, freshStats());

    expect(await failed.count(1, "piece_failed")).toEqual([{ infoHash: IH, piece: 2, attempt: msg.attempt, peers: [] }]);
    expect(await claims.piece(IH, 2)).toMatchObject({ state: "missing" });
    expect(store.writes).toEqual([]);
  });
});
