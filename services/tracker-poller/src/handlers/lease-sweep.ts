import type { ClaimTable, PieceBus } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

/**
 * One sweep of a torrent's leases, run by its owner every few seconds: every piece a lapsed
 * worker held goes back to missing (its claims, and the verified pieces a dead storage-writer
 * kept in memory), and each is announced with `piece_failed` (no peers to blame). Workers see
 * claims of others go free when they next ask the claim table anyway, but the worker that staged
 * a piece a writer then held waits for it to be stored or failed and would never fetch it again.
 * Resolves how many pieces went back.
 */
export async function sweepLeases(claims: ClaimTable, bus: PieceBus, infoHash: string, logger: Logger): Promise<number> {
  const freed = await claims.expireLeases(infoHash);
  if (freed.length === 0) return 0;
  logger.info({ pieces: freed.length }, "pieces of workers whose lease lapsed are missing again");
  for (const { piece, attempt } of freed) {
    // A lost broadcast costs only promptness: the piece is missing in the table either way.
    await bus.publish("piece_failed", { infoHash, piece, attempt, peers: [] }).catch((err: unknown) => {
      logger.warn({ err, piece, op: "bus.publish" }, "piece_failed not sent");
    });
  }
  return freed.length;
}
