import { ShoalError } from "@shoal/errors";
import type { PieceBus } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

export interface FinalizeOptions {
  /** How long to wait for the writer's answer before asking again (the request is idempotent). */
  readonly askAgainMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/**
 * Asks the storage-writer to make the torrent's files final (`torrent_complete`, durable) and
 * waits for its `torrent_finalized`. The question is asked again every `askAgainMs` until
 * answered, since the answer is a broadcast that can be lost and finalizing twice is harmless.
 * Rejects with the writer's error when it cannot finalize, and with the abort reason when the
 * job is stopped.
 */
export async function finalizeByWriter(bus: PieceBus, infoHash: string, o: FinalizeOptions): Promise<void> {
  let answer!: (error: Error | undefined) => void;
  const answered = new Promise<Error | undefined>((resolve) => (answer = resolve));
  const sub = await bus.subscribe("torrent_finalized", infoHash, (m) => {
    let err: Error | undefined;
    if (m.error) {
      try {
        err = ShoalError.fromJSON(m.error);
      } catch (bad) {
        err = new Error(`the writer could not finalize the files (its error report was unreadable: ${(bad as Error).message})`);
      }
    }
    answer(err);
  });
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => answer(o.signal.reason instanceof Error ? o.signal.reason : new Error("stopped"));
  o.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const ask = async (): Promise<void> => {
      try {
        await bus.publish("torrent_complete", { infoHash });
      } catch (err) {
        o.logger.warn({ err, op: "bus.publish", infoHash }, "could not ask the writer to finalize; asking again");
      }
      timer = setTimeout(() => void ask(), o.askAgainMs);
    };
    if (o.signal.aborted) onAbort();
    else await ask();
    const err = await answered;
    if (err) throw err;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener("abort", onAbort);
    await sub.unsubscribe();
  }
}
