import { StorageError, type ClaimTable, type ObjectStore, type PieceBus, type SubjectPayloads } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

export interface WriteDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly logger: Logger;
  /** Registers the torrent's layout in the store before its first write. */
  readonly ensureOpen: (infoHash: string) => Promise<void>;
}

export interface WriteStats {
  stored: number;
  stale: number;
  writtenBytes: number;
}

/**
 * Writes one verified piece into the final files, then marks it stored and drops its staging copy.
 * `stored` is set only after the write returned, so a crash in between writes the piece again.
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
  await deps.ensureOpen(msg.infoHash);
  let data: Buffer;
  try {
    data = await store.getStaged(ref);
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
  try {
    await store.writePiece(msg.infoHash, msg.piece, data);
  } catch (err) {
    if (err instanceof StorageError && !err.retryable) {
      // Retrying cannot help; tell the torrent's owner so the job fails with this reason. The
      // piece stays verified and staged, so nothing already downloaded is lost.
      deps.logger.error({ infoHash: msg.infoHash, piece: msg.piece, err, op: "write.writePiece" }, err.message);
      await bus.publish("storage_failed", { infoHash: msg.infoHash, piece: msg.piece, error: err.toJSON() });
      return;
    }
    throw err;
  }
  const r = await claims.store(msg.infoHash, claim);
  await store.deleteStaged(ref);
  if (r !== "ok") {
    stats.stale++;
    return;
  }
  stats.stored++;
  stats.writtenBytes += data.length;
  await bus.publish("piece_stored", { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt });
}
