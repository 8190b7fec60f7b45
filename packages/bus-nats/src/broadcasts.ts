/**
 * The bus's broadcasts: core NATS subscriptions (no JetStream, nothing redelivered) for messages
 * that can be rebuilt, each handler run on its own, and the handlers still running at close.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Delivery, SubjectName, Subscription } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { BusCounters } from "./bus-stats.js";
import { decodePayload } from "./codec.js";
import { toCoordinationError, unavailable } from "./errors.js";

type Handler = (payload: unknown, delivery: Delivery) => Promise<void> | void;

export class Broadcasts {
  private readonly subs = new Set<{ unsubscribe(): void }>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly counters: BusCounters,
    private readonly requestTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Subscribes `handler` to `subject`, in queue group `group` if given; live once the server confirms. */
  async subscribe(name: SubjectName, subject: string, handler: Handler, group: string | undefined): Promise<Subscription> {
    const sub = this.nc.subscribe(subject, {
      ...(group === undefined ? {} : { queue: group }),
      callback: (err, msg) => {
        if (err) {
          this.logger.error({ err, op: "nats.subscribe", subject }, "subscription ended by the server");
          return;
        }
        this.run(name, subject, handler, msg.data);
      },
    });
    this.subs.add(sub);
    // A subscription is live once the server has it: a flush is a round trip after the SUB.
    const live = await within(this.nc.flush(), this.requestTimeoutMs).catch((err: unknown) => err);
    if (live !== true) {
      sub.unsubscribe();
      this.subs.delete(sub);
      throw live === false
        ? unavailable("nats.subscribe", `subscribe to ${name}: NATS did not confirm within ${this.requestTimeoutMs} ms`)
        : toCoordinationError(live, "nats.subscribe", `subscribe to ${name}`);
    }
    return {
      unsubscribe: async () => {
        if (this.subs.delete(sub)) sub.unsubscribe();
      },
    };
  }

  /** Ends every broadcast subscription; handlers already running go on (see `handlersRunning`). */
  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.clear();
  }

  handlersRunning(): Promise<void>[] {
    return [...this.running];
  }

  /** Broadcast handlers run concurrently; a failure is logged, since nothing redelivers a broadcast. */
  private run(name: SubjectName, subject: string, handler: Handler, data: Uint8Array): void {
    let payload: unknown;
    try {
      payload = decodePayload(data);
    } catch (err) {
      this.logger.warn({ err, op: "nats.subscribe", subject }, "undecodable broadcast dropped");
      return;
    }
    this.counters.onReceived(name, 1);
    const p = (async () => {
      try {
        await handler(payload, { redeliveryCount: 1, inProgress: () => {} });
      } catch (err) {
        this.logger.warn({ err, op: "nats.subscribe", subject, name }, "broadcast handler failed");
      }
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise; rejects if `p` rejects in time. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p.then(() => true as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
