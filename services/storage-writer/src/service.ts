import { randomBytes } from "node:crypto";
import { StorageError, type ClaimTable, type ObjectStore, type PieceBus } from "@shoal/coordination";
import type { TorrentInfoCache } from "@shoal/metainfo";
import type { Logger, RunningService } from "@shoal/service-kit";
import type { WriterConfig } from "./config.js";
import { HeldPieces } from "./held-pieces.js";
import { markStored, writeVerified, type WriteStats } from "./handlers/write-verified.js";
import { awaitVerdict, type AwaitVerdictStats } from "./handlers/await-verdict.js";
import { VerdictWaits } from "./verdict-waits.js";

export interface WriterDeps {
  readonly claims: ClaimTable;
  readonly store: ObjectStore;
  readonly bus: PieceBus;
  readonly torrents: TorrentInfoCache;
  readonly logger: Logger;
}

/** The storage-writer: turns verified pieces into the final files of the object store. */
export async function start(config: WriterConfig, deps: WriterDeps): Promise<RunningService & { readonly writerId: string }> {
  const writerId = config.writerId || `writer-${randomBytes(4).toString("hex")}`;
  const logger = deps.logger.child({ component: "writer", workerId: writerId });
  const stats: WriteStats & AwaitVerdictStats = { stored: 0, stale: 0, writtenBytes: 0, dropped: 0, polls: 0 };
  const verdicts = new VerdictWaits();
  const verdictDeps = { claims: deps.claims, verdicts, pollMs: Math.min(config.verdictPollSeconds, config.ackWaitSeconds / 3) * 1000, logger };
  const opened = new Map<string, Promise<void>>();
  const leaseTtlMs = config.leaseTtlSeconds * 1000;
  const held = new HeldPieces(deps.claims, writerId, leaseTtlMs, logger);
  const ensureOpen = (infoHash: string): Promise<void> => {
    let p = opened.get(infoHash);
    if (!p) {
      p = deps.torrents.get(infoHash).then((info) => deps.store.openTorrent(info.layout));
      p.catch(() => opened.delete(infoHash));
      opened.set(infoHash, p);
    }
    return p;
  };
  /** Torrents cancelled while this writer ran, until a job for them starts again. */
  const cancelled = new Set<string>();
  /** Writes under way, by torrent: a cancel waits for them before it aborts the uploads, and stop before it gives back what they held. */
  const writing = new Map<string, Set<Promise<void>>>();
  const track = (infoHash: string, write: Promise<void>): Promise<void> => {
    let set = writing.get(infoHash);
    if (!set) writing.set(infoHash, (set = new Set()));
    set.add(write);
    const done = () => {
      set.delete(write);
      if (set.size === 0 && writing.get(infoHash) === set) writing.delete(infoHash);
    };
    write.then(done, done);
    return write;
  };
  /**
   * A new job on a torrent this writer still has open from an earlier one (that job failed, or
   * its owner never said it ended): the earlier job's state here is not the new one's. Its held
   * pieces went back to missing with the rebuilt piece table, and the new job may name another
   * destination or other files. Pieces arriving meanwhile wait for the torrent to be opened
   * afresh; writes already under way finish first.
   */
  const forgetEarlierJob = (infoHash: string): void => {
    const before = opened.get(infoHash);
    held.forgetTorrent(infoHash);
    deps.torrents.forget(infoHash);
    if (!before) return;
    const running = [...(writing.get(infoHash) ?? [])];
    const reopen = (async () => {
      await Promise.allSettled([before, ...running]);
      await deps.store.closeTorrent(infoHash);
      const info = await deps.torrents.get(infoHash);
      await deps.store.openTorrent(info.layout);
    })();
    reopen.catch((err: unknown) => {
      if (opened.get(infoHash) === reopen) opened.delete(infoHash);
      logger.warn({ err, infoHash, op: "store.openTorrent" }, "could not open the torrent afresh for its new job");
    });
    opened.set(infoHash, reopen);
  };
  const startedSub = await deps.bus.subscribe("torrent_started", "*", (m) => {
    cancelled.delete(m.infoHash);
    if (m.newJob === true) forgetEarlierJob(m.infoHash);
  });
  // Verdicts first, so none is missed by a piece this writer takes at once.
  const verifiedSub = await deps.bus.subscribe("piece_verified", "*", (m) => verdicts.verified(m.infoHash, m.piece, m.attempt));
  const failedSub = await deps.bus.subscribe("piece_failed", "*", (m) => verdicts.failed(m.infoHash, m.piece));
  // The writer's own delivery of every staged piece (a second group next to the verifiers'):
  // the bytes cross the bus once, and the message stays unacknowledged until the verdict.
  const sub = await deps.bus.subscribe(
    "piece_staged",
    "*",
    async (msg, delivery) => {
      const verdict = await awaitVerdict(verdictDeps, msg, delivery, stats);
      if (verdict === "gone") return;
      if (cancelled.has(msg.infoHash)) {
        // A late piece of a cancelled torrent: no new upload is started for it.
        await deps.claims.unstage(msg.infoHash, { piece: msg.piece, attempt: msg.attempt });
        return;
      }
      const { peers: _peers, ...piece } = msg;
      await track(msg.infoHash, writeVerified({ ...deps, logger, ensureOpen, held }, piece, stats, verdict === "verified"));
    },
    // The writer finishes with a piece after the verifier (it waits for the verdict), so it is
    // the group that lets the bus drop bytes it carried apart (chunks of pieces over max_payload).
    // The store copies a piece into its unit's buffer before `writePiece` resolves, so the bytes
    // are lent: the bus may gather a later message in their memory.
    { group: config.group, ackWaitMs: config.ackWaitSeconds * 1000, releasesBytes: true, bytesLent: true },
  );
  // A cancelled torrent ends for good: drop the pieces held for their parts and abort the
  // unfinished multipart uploads, so nothing but finished objects stays in the bucket. A
  // stopping owner (`stopped`) hands the job to the next one, which continues with what this
  // writer holds, so nothing is given back then.
  const finishedSub = await deps.bus.subscribe("torrent_finished", "*", async (m) => {
    if (m.reason === "completed" && opened.has(m.infoHash)) {
      // Done: the store's state of the torrent is no longer needed here.
      held.forgetTorrent(m.infoHash);
      opened.delete(m.infoHash);
      await deps.store.closeTorrent(m.infoHash).catch(() => undefined);
      return;
    }
    if (m.reason !== "cancelled") return;
    cancelled.add(m.infoHash);
    // A write that passed the check above before the cancel came would otherwise reach the
    // store after the abort below and open a new multipart upload that nobody aborts.
    await Promise.allSettled([...(writing.get(m.infoHash) ?? [])]);
    // Pieces held for their parts go back to missing: their bytes are dropped here, and a job
    // submitted again must download them again rather than wait for bytes nobody has.
    for (const pending of held.forgetTorrent(m.infoHash)) {
      await deps.claims.unstage(m.infoHash, { piece: pending.ref.piece, attempt: pending.ref.attempt }).catch(() => undefined);
    }
    if (!opened.has(m.infoHash)) return;
    opened.delete(m.infoHash);
    try {
      await deps.store.abortTorrent(m.infoHash);
      await deps.store.closeTorrent(m.infoHash);
    } catch (err) {
      logger.warn({ err, infoHash: m.infoHash, op: "store.abortTorrent" }, "could not drop a cancelled torrent's unfinished uploads");
    }
  });
  const finalizing = new Map<string, Promise<void>>();
  const finalizeTorrent = async (infoHash: string): Promise<void> => {
    try {
      await ensureOpen(infoHash);
      await deps.store.finalize(infoHash);
    } catch (err) {
      // Retryable failures (S3 down) come back with the message; others end the job, named.
      if (!(err instanceof StorageError) || err.retryable) throw err;
      logger.error({ err, infoHash, op: "store.finalize" }, err.message);
      await deps.bus.publish("torrent_finalized", { infoHash, error: err.toJSON() });
      return;
    }
    logger.info({ infoHash, op: "store.finalize" }, "files final");
    await deps.bus.publish("torrent_finalized", { infoHash });
  };
  // Every wanted piece is stored: complete the objects and answer the torrent's owner.
  const completeSub = await deps.bus.subscribe(
    "torrent_complete",
    "*",
    async (m) => {
      // The owner asks again while a big torrent's finalize runs (and the bus redelivers one that
      // outlasts its ack wait): those join the finalize in progress instead of starting another
      // over the same objects.
      let run = finalizing.get(m.infoHash);
      if (!run) {
        run = finalizeTorrent(m.infoHash).finally(() => finalizing.delete(m.infoHash));
        finalizing.set(m.infoHash, run);
      }
      await run;
    },
    { group: config.group, ackWaitMs: config.ackWaitSeconds * 1000 },
  );
  // Pieces whose `stored` mark failed when their part completed (Redis or NATS down) are marked
  // again with the heartbeats; without it they would stay verified under a live lease for good.
  const markDeferred = async (): Promise<void> => {
    for (const [infoHash, pieces] of held.takeUnmarked()) {
      try {
        await track(infoHash, markStored({ ...deps, logger, ensureOpen, held }, infoHash, pieces, stats));
      } catch (err) {
        logger.warn({ err, infoHash, op: "claims.store" }, "pieces durable in the store not marked stored yet; trying again");
      }
    }
  };
  // Three beats per lease, so one late beat never costs the held pieces.
  const heartbeatTimer = setInterval(() => {
    void held.heartbeat();
    void markDeferred();
  }, leaseTtlMs / 3);
  heartbeatTimer.unref();
  let stopping: Promise<void> | undefined;
  return {
    writerId,
    stop() {
      stopping ??= (async () => {
        await sub.unsubscribe();
        // Pieces still waiting for a verdict go back to the bus for the next writer.
        verdicts.cancelAll();
        await verifiedSub.unsubscribe();
        await failedSub.unsubscribe();
        await completeSub.unsubscribe();
        await finishedSub.unsubscribe();
        await startedSub.unsubscribe();
        // Writes in progress finish first, so what they held is given back below.
        while (writing.size > 0) await Promise.allSettled([...writing.values()].flatMap((set) => [...set]));
        clearInterval(heartbeatTimer);
        // The store's buffers die with this writer: what it held goes back to missing now rather
        // than when its lease lapses, and the workers hear of it so they fetch it again at once.
        for (const { ref, claim } of await held.release()) {
          await deps.bus
            .publish("piece_failed", { infoHash: ref.infoHash, piece: claim.piece, attempt: claim.attempt, peers: [] })
            .catch((err: unknown) => logger.warn({ err, infoHash: ref.infoHash, piece: claim.piece, op: "bus.publish" }, "piece_failed not sent"));
          await deps.store.deleteStaged(ref).catch(() => undefined);
        }
      })();
      return stopping;
    },
    status: () => ({ ...stats, held: held.size, awaitingVerdict: verdicts.size.pieces, awaitingVerdictBytes: verdicts.size.bytes }),
  };
}
