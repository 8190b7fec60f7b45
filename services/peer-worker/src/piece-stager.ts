import type { ClaimTable, ObjectStore, PieceBus } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { ActivePiece } from "./active-piece.js";
import type { BlockScheduler } from "./block-scheduler.js";
import type { PieceBufferPool } from "./piece-buffer-pool.js";
import type { PublishGate } from "./publish-gate.js";
import { publishWithRetry } from "./publish-retry.js";
import type { RecentPieces } from "./recent-pieces.js";

/**
 * How long a staged piece's message is sent again while the bus cannot take it. A NATS restart
 * or fail-over takes seconds; past this the piece goes back to missing and is downloaded again.
 */
const STAGED_PUBLISH_RETRY_MS = 60_000;
/** What staging a piece needs of its swarm. */
export interface StageContext {
  readonly infoHash: string;
  readonly workerId: string;
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly pool: PieceBufferPool;
  readonly stagePiecesOnBus: boolean;
  readonly scheduler: BlockScheduler;
  readonly recent: RecentPieces;
  /** Staged pieces on their way to the bus at once, bounded (see publish-gate.ts). */
  readonly stageGate: PublishGate;
  readonly logger: Logger;
  closed(): boolean;
}

/**
 * Stages a whole piece (from connections or a web seed): its bytes go to the verifier (on the
 * bus, or through the store's staging area), the claim table moves it to staged, and
 * `piece_staged` names the peers whose bytes it holds.
 */
export function stagePiece(s: StageContext, p: ActivePiece): void {
  const infoHash = s.infoHash;
  const ref = { infoHash, piece: p.index, attempt: p.attempt, workerId: s.workerId };
  const claim = { piece: p.index, attempt: p.attempt };
  const buf = p.buf!;
  p.buf = undefined;
  // A piece larger than one bus message still rides the bus: the bus carries it in chunks.
  const onBus = s.stagePiecesOnBus;
  let staged = false;
  void (async () => {
    if (!onBus) await s.store.putStaged(ref, buf);
    const r = await s.claims.stage(infoHash, s.workerId, claim);
    if (r !== "ok") {
      // Another worker staged this attempt first (end-game), or our claim expired.
      s.scheduler.onStageFailed(p.index);
      if (onBus) s.pool.release(buf);
      else await s.store.deleteStaged(ref);
      return;
    }
    staged = true;
    // Staged in the table, the piece moves on only through this message: while the bus is
    // down (a NATS restart) it is sent again rather than dropped with the bytes in hand. Every
    // try sends this one payload: the bus may build the message in the buffer's headroom, where
    // a try that failed may still be queued in its client, so a retry must write the same header.
    const message = { ...ref, peers: p.contributors(), ...(onBus ? { data: buf } : {}) };
    const send = () => s.bus.publish("piece_staged", message);
    await publishWithRetry(() => (onBus ? s.stageGate.run(send) : send()), {
      giveUpAfterMs: STAGED_PUBLISH_RETRY_MS,
      stopped: () => s.closed(),
      now: () => Date.now(),
      onRetry: (err) => s.logger.warn({ err, piece: p.index, op: "bus.publish" }, "bus unavailable; sending the staged piece again"),
    });
    if (onBus) {
      // The bus copied the bytes (the publish resolved, so its client is done with the body,
      // which may alias the buffer): they no longer count against this worker's claim budget,
      // and the buffer is kept (within its own budget) to serve the piece to peers.
      s.scheduler.onHandedOff(p.index);
      s.recent.put(p.index, buf);
    }
  })().catch(async (err: unknown) => {
    // The buffer is left to the garbage collector, not given back to the pool: a publish that
    // failed may still have its body, built in the buffer's headroom, queued in the bus client.
    s.scheduler.onStageFailed(p.index);
    s.logger.error({ err, piece: p.index, op: "worker.stage" }, "staging a piece failed; it will be downloaded again");
    try {
      // Claimed or staged, the piece is this worker's to give back; a staged one nobody would
      // ever move on, so the others hear of it (once the bus takes messages again).
      const r = await s.claims.release(infoHash, s.workerId, claim);
      if (r === "ok" && staged) await s.bus.publish("piece_failed", { ...claim, infoHash, peers: [] });
    } catch {
      // Redis or the bus is unreachable too: the piece goes back when this worker's lease lapses.
    }
  });
}
