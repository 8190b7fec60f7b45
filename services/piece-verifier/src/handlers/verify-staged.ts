import { StorageError, type ClaimTable, type ObjectStore, type PieceBus, type SubjectPayloads } from "@shoal/coordination";
import { pieceHash, type TorrentInfoCache } from "@shoal/metainfo";
import type { Logger } from "@shoal/service-kit";
import type { PieceHasher } from "../hashing/piece-hasher.js";

export interface VerifyDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly torrents: TorrentInfoCache;
  readonly logger: Logger;
  readonly hasher: PieceHasher;
}

export interface VerifyStats {
  verified: number;
  failed: number;
  stale: number;
  hashedBytes: number;
  /** Peers this verifier banned (their strikes reached the limit on a piece it rejected). */
  banned: number;
}

/**
 * Hashes one staged piece and moves it on: verified (and the verdict broadcast to the writer,
 * which holds the same message) or rejected (back to missing, its peers blamed, repeat offenders
 * banned for the whole cluster, `piece_failed` broadcast). Idempotent: a message for an attempt
 * that is no longer the staged one is dropped.
 */
export async function verifyStaged(deps: VerifyDeps, msg: SubjectPayloads["piece_staged"], stats: VerifyStats): Promise<void> {
  const { claims, store, bus, logger } = deps;
  const ref = { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, workerId: msg.workerId };
  const claim = { piece: msg.piece, attempt: msg.attempt };
  const rec = await claims.piece(msg.infoHash, msg.piece);
  if (rec.attempt !== msg.attempt || rec.state !== "staged") {
    stats.stale++;
    // A redelivery after we already verified: the verdict may not have gone out.
    if (rec.attempt === msg.attempt && rec.state === "verified") await bus.publish("piece_verified", claimOf(msg));
    return;
  }
  const info = await deps.torrents.get(msg.infoHash);
  let data: Buffer;
  try {
    data = msg.data ? Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength) : await store.getStaged(ref);
  } catch (err) {
    if (err instanceof StorageError && err.code === "NOT_FOUND") {
      logger.warn({ infoHash: msg.infoHash, piece: msg.piece, op: "verify.getStaged" }, "staged bytes lost; piece goes back to missing");
      if ((await claims.unstage(msg.infoHash, claim)) === "ok") {
        await bus.publish("piece_failed", { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, peers: [] });
      }
      return;
    }
    throw err;
  }
  const expected = pieceHash(info.metainfo, msg.piece);
  const actual = await deps.hasher.sha1(data);
  stats.hashedBytes += data.length;
  if (actual.equals(expected)) {
    const r = await claims.verify(msg.infoHash, claim);
    if (r === "ok") {
      stats.verified++;
      // Only the verdict: the writer has the bytes from its own delivery of `piece_staged`.
      await bus.publish("piece_verified", claimOf(msg));
    } else {
      stats.stale++;
    }
    return;
  }
  // When a known offender contributed, the fault is most likely its alone: blame only it, so
  // an honest peer that shared the piece does not collect strikes towards a ban.
  const banned = new Set(await claims.bannedPeers(msg.infoHash));
  const offenders = msg.peers.filter((p) => banned.has(p));
  const outcome = await claims.reject(msg.infoHash, claim, offenders.length > 0 ? offenders : msg.peers);
  await store.deleteStaged(ref);
  if (outcome.result !== "ok") {
    stats.stale++;
    return;
  }
  stats.failed++;
  logger.warn(
    { infoHash: msg.infoHash, piece: msg.piece, peer: msg.peers.join(","), op: "verify.sha1" },
    `piece ${msg.piece} failed SHA-1: expected ${Buffer.from(expected).toString("hex")}, got ${actual.toString("hex")} from ${msg.peers.join(", ") || "unknown peers"}`,
  );
  await bus.publish("piece_failed", { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, peers: msg.peers });
  for (const peer of outcome.banned) {
    stats.banned++;
    logger.warn({ infoHash: msg.infoHash, peer }, `peer ${peer} banned after repeated hash failures`);
    await bus.publish("peer_banned", { infoHash: msg.infoHash, peer });
  }
}

function claimOf(msg: SubjectPayloads["piece_staged"]): SubjectPayloads["piece_verified"] {
  return { infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt };
}
