import type { Logger } from "@shoal/service-kit";

/**
 * While settling, the registry is asked this often whether every peer worker of the cluster has
 * registered with the torrent: a tenth of the default settle, so the wait ends within about
 * 100 ms of the last registration, at ten small calls a second for at most `joinSettleMs`.
 */
export const SETTLE_POLL_MS = 100;

export interface JoinSettleDeps {
  /** `joinSettleMs`: the longest wait; 0 is none. */
  readonly settleMs: number;
  /**
   * The cluster's live peer workers, this one included (`ClaimTable.peerWorkerPresence`), as last
   * heard; undefined when unknown, and then the wait lasts `settleMs`.
   */
  readonly expectedWorkers: () => number | undefined;
  readonly now: () => number;
  /** Starts a round with the registry (the dialer's `run`). */
  readonly wake: () => void;
  readonly logger: Logger;
}

/**
 * The wait after joining a torrent before its first dial, so that workers joining together split
 * the peers at the first claim (see `joinSettleMs`). It ends as soon as the torrent's registry
 * counts as many live peer workers as the cluster has (`PeerGrant.liveWorkers` against
 * `expectedWorkers`): a lone worker, or one joining a torrent every other worker is already in,
 * dials after its first registration round. Until then a registration round (no peers asked
 * for) is due every SETTLE_POLL_MS; `settleMs` after the join it ends whoever is missing.
 */
export class JoinSettle {
  private readonly joinedAt: number;
  private readonly until: number;
  private over: boolean;
  private pollDue = false;
  private boundTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: JoinSettleDeps) {
    this.joinedAt = deps.now();
    this.until = this.joinedAt + deps.settleMs;
    this.over = deps.settleMs <= 0;
  }

  /** Whether dials still wait now; the first call arms the wake-up at the bound. */
  settling(now: number): boolean {
    if (this.over) return false;
    if (now >= this.until) {
      this.end(now, "the settle's bound passed");
      return false;
    }
    if (this.boundTimer === undefined) {
      this.boundTimer = setTimeout(() => this.deps.wake(), this.until - now);
      this.boundTimer.unref();
    }
    return true;
  }

  /** A poll is due: the round should ask the registry even with nothing else to ask. Clears it. */
  takePoll(): boolean {
    const due = this.pollDue;
    this.pollDue = false;
    return due;
  }

  /**
   * A round made while settling was answered: `liveWorkers` peer workers are registered with the
   * torrent (undefined when the registry did not answer). Returns true when that ends the settle:
   * the caller then rounds again at once, to dial.
   */
  registered(liveWorkers: number | undefined): boolean {
    if (this.over) return false;
    const now = this.deps.now();
    const expected = this.deps.expectedWorkers();
    if (liveWorkers !== undefined && expected !== undefined && liveWorkers >= expected) {
      this.end(now, "every peer worker of the cluster registered", { liveWorkers, expected });
      return true;
    }
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(
      () => {
        this.pollDue = true;
        this.deps.wake();
      },
      Math.max(0, Math.min(SETTLE_POLL_MS, this.until - now)),
    );
    this.pollTimer.unref();
    return false;
  }

  close(): void {
    this.over = true;
    this.clearTimers();
  }

  private end(now: number, why: string, counts: Record<string, number> = {}): void {
    this.over = true;
    this.clearTimers();
    this.deps.logger.debug({ waitedMs: Math.round(now - this.joinedAt), ...counts }, `settled after joining: ${why}; dialling`);
  }

  private clearTimers(): void {
    clearTimeout(this.boundTimer);
    clearTimeout(this.pollTimer);
    this.boundTimer = this.pollTimer = undefined;
  }
}
