import { StorageError, type ClaimTable, type ObjectStore, type PieceBus, type StagedRef, type SubjectPayloads } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

export interface WriteDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly logger: Logger;
  /** Registers the torrent's layout in the store before its first write. */
  readonly ensureOpen: (infoHash: string) => Promise<void>;
  /** Pieces the store holds until their unit is complete, with the attempt they belong to. */
  readonly pending: PendingWrites;
}

export interface WriteStats {
  stored: number;
  stale: number;
  writtenBytes: number;
}

/**
 * Hands one verified piece to the store, then marks stored (and drops the staging copy of) every
 * piece the store reports durable. `stored` is set only once the store says so, so a crash in
 * between writes the piece again.
 */
export async function writeVerified(deps: WriteDeps, msg: SubjectPayloads["piece_verified"], stats: WriteStats): Promise<void> {
  const { claims, store, bus } = deps;
  const ref = { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, workerId: msg.workerId };
  const claim = { piece: msg.piece, attempt: msg.attempt };
  const rec = await claims.piece(msg.infoHash, msg.piece);
  if (rec.attempt !== msg.attempt || rec.state !== "verified") {
    stats.stale++;
    if (rec.attempt === msg.attempt && rec.state === "stored") await store.deleteStaged(ref);
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
  deps.pending.set(pendingKey(msg.infoHash, msg.piece), { ref, bytes: data.length });
  const written = await permanentFailureReported(
    deps,
    msg,
    async () => void (durable = await store.writePiece(msg.infoHash, msg.piece, data)),
    "write.writePiece",
  );
  if (!written) return;
  // The store may report pieces it held for their unit (an S3 part) along with, or instead of,
  // this one: each is marked stored with the attempt it was verified in.
  for (const piece of durable) {
    const key = pendingKey(msg.infoHash, piece);
    const held = deps.pending.get(key);
    if (!held) continue;
    deps.pending.delete(key);
    const r = await claims.store(msg.infoHash, { piece, attempt: held.ref.attempt });
    await store.deleteStaged(held.ref);
    if (r !== "ok") {
      stats.stale++;
      continue;
    }
    stats.stored++;
    stats.writtenBytes += held.bytes;
    await bus.publish("piece_stored", { infoHash: msg.infoHash, piece, attempt: held.ref.attempt });
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
  msg: SubjectPayloads["piece_verified"],
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

/** Pieces handed to the store and not yet reported durable, by `pendingKey`. */
export type PendingWrites = Map<string, { readonly ref: StagedRef; readonly bytes: number }>;

function pendingKey(infoHash: string, piece: number): string {
  return `${infoHash}/${piece}`;
}
