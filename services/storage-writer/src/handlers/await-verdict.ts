import type { ClaimTable, Delivery, SubjectPayloads } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { VerdictWaits, WakeReason } from "../verdict-waits.js";

export interface AwaitVerdictDeps {
  readonly claims: ClaimTable;
  readonly verdicts: VerdictWaits;
  /** How long a waiting piece goes without reading the claim table, in case its verdict was lost. */
  readonly pollMs: number;
  readonly logger: Logger;
}

export interface AwaitVerdictStats {
  /** Staged pieces dropped because their attempt failed or moved on before it was verified. */
  dropped: number;
  /** Claim-table reads of waiting pieces whose verdict had not come by the poll interval. */
  polls: number;
}

/**
 * What became of a staged piece's attempt: `verified` (just read, or the verifier's verdict for
 * it), `stored` already (the write drops it as stale and cleans up), or `gone` (failed, or moved
 * on to another attempt).
 */
export type Verdict = "verified" | "stored" | "gone";

/**
 * Holds a staged piece (its message unacknowledged) until the claim table says what became of
 * its attempt, and resolves with that; `gone` means the message is acknowledged and dropped.
 * While it waits the message's ack wait is pushed back at every wake. The table is read when the
 * piece arrives (a redelivered piece may be verified long since), after a verdict that is not
 * this attempt's, and every `pollMs`; a verified verdict for this attempt needs no read (the
 * verifier publishes it once the table says so). Throws WaitCancelled when the writer stops: the
 * bus delivers the piece again later.
 */
export async function awaitVerdict(
  deps: AwaitVerdictDeps,
  msg: SubjectPayloads["piece_staged"],
  delivery: Delivery,
  stats: AwaitVerdictStats,
): Promise<Verdict> {
  const wait = deps.verdicts.expect(msg.infoHash, msg.piece, msg.attempt, msg.data?.byteLength ?? 0);
  try {
    let reason: WakeReason | "arrived" = wait.heard ? "verified" : "arrived";
    for (;;) {
      if (reason === "verified") return "verified";
      if (reason === "poll") stats.polls++;
      const rec = await deps.claims.piece(msg.infoHash, msg.piece);
      if (rec.attempt === msg.attempt && (rec.state === "verified" || rec.state === "stored")) return rec.state;
      if (rec.attempt !== msg.attempt || rec.state !== "staged") {
        stats.dropped++;
        deps.logger.debug({ infoHash: msg.infoHash, piece: msg.piece, attempt: msg.attempt, state: rec.state }, "staged piece not verified at its attempt; dropped");
        return "gone";
      }
      delivery.inProgress();
      reason = await wait.next(deps.pollMs);
    }
  } finally {
    wait.done();
  }
}
