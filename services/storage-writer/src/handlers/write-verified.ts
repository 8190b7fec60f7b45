import { StorageError, type ClaimTable, type ObjectStore, type PieceBus, type SubjectPayloads } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { HeldPieces } from "../held-pieces.js";

export interface WriteDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly logger: Logger;
  /** Registers the torrent's layout in the store before its first write. */
  readonly ensureOpen: (infoHash: string) => Promise<void>;
  /** Pieces the store keeps until their unit is complete, held under this writer's lease. */
  readonly held: HeldPieces;
}

/** A piece the claim table says is verified: what the writer took from its `piece_staged` message. */
export type VerifiedPiece = Omit<SubjectPayloads["piece_staged"], "peers">;

export interface WriteStats {
  stored: number;
  stale: number;
  writtenBytes: number;
}

/**
 * Hands one verified piece to the store, then marks stored (and drops the staging copy of) every
 * piece the store reports durable. `stored` is set only once the store says so, so a crash in
 * between writes the piece again. A piece the store keeps for later (its part is not complete)
 * is held under this writer's lease before the message is acknowledged, so it goes back to
 * missing if the writer dies with the bytes in its memory.
 */
export async function writeVerified(deps: WriteDeps, msg: VerifiedPiece, stats: WriteStats, verifiedNow = false): Promise<void> {
  const { claims, store, bus } = deps;
  const ref = { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, workerId: msg.workerId };
  const claim = { piece: msg.piece, attempt: msg.attempt };
  // A caller that has just seen the piece verified at this attempt saves the read: should it
  // have moved on since, `hold` and `store` refuse it, and the bytes written are the piece's.
  const rec = verifiedNow ? { state: "verified", attempt: msg.attempt } : await claims.piece(msg.infoHash, msg.piece);
  if (rec.attempt !== msg.attempt || rec.state !== "verified") {
    stats.stale++;
    if (rec.attempt === msg.attempt && rec.state === "stored") await store.deleteStaged(ref);
    return;
  }
  if (!msg.data && deps.held.get(msg.infoHash, msg.piece)?.ref.attempt === msg.attempt && (await heldHere(deps, msg))) {
    // A second delivery of a piece this writer already handed to the store and holds (the first
    // outlived its ack wait on a loaded machine): the store has its bytes, and those the bus
    // carried in chunks were released when the first finished. Going on would find no bytes
    // and send the piece back to missing.
    stats.stale++;
    return;
  }
  if (!(await permanentFailureReported(deps, msg, () => deps.ensureOpen(msg.infoHash), "write.openTorrent"))) return;
  let data: Buffer;
  try {
    data = msg.data ? Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength) : await store.getStaged(ref);
  } catch (err) {
    if (err instanceof StorageError && err.code === "NOT_FOUND") {
      deps.logger.warn({ infoHash: msg.infoHash, piece: msg.piece, op: "write.getStaged" }, "verified bytes lost; piece goes back to missing");
      if ((await claims.unstage(msg.infoHash, claim)) === "ok") {
        await bus.publish("piece_failed", { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, peers: [] });
      }
      return;
    }
    throw err;
  }
  let durable: readonly number[] = [];
  deps.held.add(ref, data.length);
  const written = await permanentFailureReported(
    deps,
    msg,
    async () => void (durable = await store.writePiece(msg.infoHash, msg.piece, data)),
    "write.writePiece",
  );
  if (!written) return;
  // The store may report pieces it held for their unit (an S3 part) along with, or instead of,
  // this one: each is marked stored with the attempt it was verified in.
  await markStored(deps, msg.infoHash, durable, stats);
  if (deps.held.get(msg.infoHash, msg.piece)?.ref !== ref) return;
  if (!(await deps.held.hold(msg.infoHash, msg.piece))) {
    // No longer verified at this attempt (lost, or stored by another writer): nobody needs its staging.
    stats.stale++;
    await store.deleteStaged(ref);
  }
}

/** The claim table has the piece verified at this attempt and held by this writer: its write succeeded. */
async function heldHere(deps: WriteDeps, msg: VerifiedPiece): Promise<boolean> {
  const rec = await deps.claims.piece(msg.infoHash, msg.piece);
  return rec.state === "verified" && rec.attempt === msg.attempt && rec.holder === deps.held.writerId;
}

/**
 * Marks pieces the store reported durable `stored`, drops their staging and announces them.
 * The store reports a piece durable once, so a mark that fails (the claim table or the bus is
 * down) must not lose the rest: the pieces not done yet stay pending under this writer's lease
 * and are handed to `HeldPieces.deferMarking`, which the writer tries again at its next
 * heartbeat. Throws the failure, so the bus also delivers the message at hand again.
 */
export async function markStored(deps: WriteDeps, infoHash: string, durable: readonly number[], stats: WriteStats): Promise<void> {
  for (let i = 0; i < durable.length; i++) {
    const piece = durable[i]!;
    const pending = deps.held.get(infoHash, piece);
    if (!pending) continue;
    const attempt = pending.ref.attempt;
    try {
      // Refused when the piece went back to missing meanwhile (this writer's lease lapsed) or
      // moved on: it is dropped here, and downloaded again at a new attempt.
      const r = await deps.claims.store(infoHash, { piece, attempt });
      if (deps.held.get(infoHash, piece) === pending) deps.held.take(infoHash, piece);
      await deps.store.deleteStaged(pending.ref);
      if (r !== "ok") {
        stats.stale++;
        continue;
      }
      stats.stored++;
      stats.writtenBytes += pending.bytes;
      await deps.bus.publish("piece_stored", { infoHash, piece, attempt });
    } catch (err) {
      // A store that landed before the failure is refused next time and the piece dropped as
      // stale: the next piece_stored it misses is only a broadcast (workers read the table).
      deps.held.deferMarking(infoHash, durable.slice(i));
      throw err;
    }
  }
}

/**
 * Runs a store call. A StorageError that retrying cannot fix (no such bucket, no permission, a
 * file in the way) is told to the torrent's owner, which fails the job with it, and resolves
 * false: the piece stays verified and staged, so nothing already downloaded is lost. Other
 * errors propagate, and the bus delivers the message again.
 */
async function permanentFailureReported(
  deps: WriteDeps,
  msg: VerifiedPiece,
  call: () => Promise<void>,
  op: string,
): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (!(err instanceof StorageError) || err.retryable) throw err;
    deps.logger.error({ infoHash: msg.infoHash, piece: msg.piece, err, op }, err.message);
    await deps.bus.publish("storage_failed", { infoHash: msg.infoHash, piece: msg.piece, error: err.toJSON() });
    return false;
  }
}
