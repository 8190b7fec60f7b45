import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Delivery, SubjectName } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import type { BusCounters } from "./bus-stats.js";
import type { ChunkedDeliveries, ResolvedDelivery } from "./chunked-deliveries.js";
import { decodePayload } from "./codec.js";
import { returnBody } from "./presized-payloads.js";

type Handler = (payload: unknown, delivery: Delivery) => Promise<void> | void;

export interface DurableSubscriptionOptions {
  readonly consumer: Consumer;
  /** The consumer's name, for logs. */
  readonly consumerName: string;
  /** The subject's name, for the bus's message counts. */
  readonly subjectName: SubjectName;
  readonly counters: BusCounters;
  readonly handler: Handler;
  readonly ackWaitMs: number;
  readonly maxDeliveries: number;
  readonly maxInFlight: number;
  readonly pullExpiresMs: number;
  readonly redeliveryDelayMs: number;
  readonly maxRedeliveryDelayMs: number;
  /** Re-creates the consumer when the server says it is gone. */
  readonly recreate: () => Promise<void>;
  /** Puts chunked byte fields back before the handler runs, and releases them after. */
  readonly chunks: ChunkedDeliveries;
  /** The handler keeps no byte view past its promise: message bodies go back for reuse (`SubscribeOptions.bytesLent`). */
  readonly bytesLent: boolean;
  readonly logger: Logger;
}

/**
 * One member of a queue group on a durable subject: pulls from the group's JetStream consumer
 * and runs the handler on each message, at most `maxInFlight` at once. A handler that resolves
 * acknowledges its message; one that rejects naks it with a delay that doubles per delivery, or
 * terminates it (the poison message is dropped, with an error log) on its last allowed delivery.
 * A message whose handler outlives the ack wait is redelivered by the server; the slow handler
 * keeps running and, if it resolves first, its late ack still settles the message. A handler
 * that calls `inProgress` sends JetStream's working acknowledgement, which starts the ack wait
 * again, and keeps its slot for another ack wait.
 */
export class DurableSubscription {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly slots: Slots;
  /** Stream sequence -> newest delivery started here, so a stale delivery's failure is ignored. */
  private readonly newest = new Map<number, number>();
  private readonly running = new Set<Promise<void>>();
  private recovering: Promise<void> | undefined;

  constructor(private readonly o: DurableSubscriptionOptions) {
    this.slots = new Slots(o.maxInFlight);
  }

  /** Starts pulling; the consumer exists already. */
  async start(): Promise<void> {
    // Pull no more than can run: messages waiting in the client buffer age toward their ack
    // wait without being worked on.
    const messages = await this.o.consumer.consume({ max_messages: this.o.maxInFlight, expires: this.o.pullExpiresMs });
    this.messages = messages;
    this.loop = this.pump(messages);
    void this.watch(messages);
  }

  /**
   * Stops pulling. Messages pulled but not started are handed back at once (nak without delay),
   * so another member takes them now rather than after the ack wait. Running handlers go on and
   * acknowledge as usual; `settled` waits for them.
   */
  async stop(): Promise<void> {
    if (this.stopped) return this.loop;
    this.stopped = true;
    this.slots.cancel();
    await this.messages?.close();
    return this.loop;
  }

  /** Resolves when every handler started so far has finished. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async pump(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        const release = this.stopped ? undefined : await this.slots.acquire();
        if (release === undefined || this.stopped) {
          release?.();
          settle(() => m.nak(), this.o.logger);
          continue;
        }
        this.run(m, release);
      }
    } catch (err) {
      // The iterator ends with an error only when the connection closed or the server refused
      // the pull for good; the bus reports the connection state, this records why pulling ended.
      if (!this.stopped) this.o.logger.warn({ err, op: "nats.consume", consumer: this.o.consumerName }, "durable subscription stopped pulling");
    }
  }

  private run(m: JsMsg, release: () => void): void {
    // After the ack wait the server redelivers, so a handler that is still running no longer
    // holds a slot: stuck handlers cannot stall the subscription. A handler that reports
    // progress pushes both the server's deadline and this one back.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(release, this.o.ackWaitMs);
      timer.unref();
    };
    arm();
    const inProgress = (): void => {
      if (done) return;
      settle(() => m.working(), this.o.logger);
      arm();
    };
    const p = this.handle(m, inProgress).finally(() => {
      done = true;
      clearTimeout(timer);
      release();
      this.running.delete(p);
    });
    this.running.add(p);
  }

  private async handle(m: JsMsg, inProgress: () => void): Promise<void> {
    const seq = m.seq;
    const delivery = m.info.deliveryCount;
    const log = { op: "nats.consume", consumer: this.o.consumerName, subject: m.subject, seq, delivery };
    this.newest.set(seq, Math.max(delivery, this.newest.get(seq) ?? 0));
    this.o.counters.onReceived(this.o.subjectName, delivery);
    try {
      let payload: unknown;
      try {
        payload = decodePayload(m.data);
      } catch (err) {
        this.o.logger.error({ ...log, err }, "undecodable durable message dropped");
        this.o.counters.onDropped(this.o.subjectName);
        settle(() => m.term(), this.o.logger);
        return;
      }
      let resolved: ResolvedDelivery | undefined;
      try {
        // Bytes over the server's max_payload ride apart, in chunks: fetched here, within the
        // subscription's byte budget, so the handler sees the message as it was published.
        resolved = await this.o.chunks.resolve(payload, inProgress, log);
        await this.o.handler(resolved.payload, { redeliveryCount: delivery, inProgress });
      } catch (err) {
        if (this.failed(m, delivery, log, err)) resolved?.release();
        return;
      } finally {
        resolved?.done();
      }
      // A late ack of a message a newer delivery settled already is ignored by the server.
      settle(() => m.ack(), this.o.logger);
      resolved.release();
    } finally {
      if (this.newest.get(seq) === delivery) this.newest.delete(seq);
      // The handler has settled (a stale delivery's too: this runs after it), so nothing here
      // reads the body any more.
      if (this.o.bytesLent) returnBody(m.data);
    }
  }

  /** Naks or terminates a failed delivery; true when the message was dropped as poison. */
  private failed(m: JsMsg, delivery: number, log: Record<string, unknown>, err: unknown): boolean {
    // The server redelivers on a nak at once, even while a newer delivery is running: only the
    // newest delivery seen here decides what happens next, as it would in the memory bus.
    if (this.newest.get(m.seq) !== delivery) {
      this.o.logger.debug({ ...log, err }, "stale delivery failed; a newer one is running");
      return false;
    }
    if (delivery >= this.o.maxDeliveries) {
      // Terminating (not just leaving it) frees the message: an interest stream on 2.9 keeps a
      // message that ran out of deliveries until max age. No reason goes with the term: 2.9 does
      // not know `+TERM <reason>` (2.10 added it) and silently ignores the whole term then, so
      // the reason is in this log line only.
      this.o.logger.error({ ...log, err, maxDeliveries: this.o.maxDeliveries }, "durable message failed its last delivery; dropped as poison");
      this.o.counters.onDropped(this.o.subjectName);
      settle(() => m.term(), this.o.logger);
      return true;
    }
    const delayMs = Math.min(this.o.redeliveryDelayMs * 2 ** (delivery - 1), this.o.maxRedeliveryDelayMs);
    this.o.logger.warn({ ...log, err, redeliveryInMs: delayMs }, "durable handler failed; message will be redelivered");
    settle(() => m.nak(delayMs), this.o.logger);
    return false;
  }

  /**
   * Logs what the consumer reports and brings back a consumer deleted behind our back. A stream
   * that is gone is not re-created here: on nats-server 2.9 a stream re-created right after its
   * deletion can come back with a consumer that never answers pulls (stored messages pile up
   * unseen), which is worse than the loud failure of durable publishes while it is missing. The
   * next `connect` of any bus creates it again.
   */
  private async watch(messages: ConsumerMessages): Promise<void> {
    const log = { op: "nats.consume", consumer: this.o.consumerName };
    for await (const s of messages.status()) {
      if (s.type === "consumer_not_found" || s.type === "consumer_deleted") {
        this.o.logger.warn({ ...log, status: s.type }, "consumer is gone; re-creating it");
        this.recovering ??= this.o
          .recreate()
          .catch((err: unknown) =>
            this.o.logger.error({ ...log, err, op: "nats.consumer.add" }, "cannot re-create consumer; if its stream is gone, the next connect creates it"),
          )
          .finally(() => (this.recovering = undefined));
      } else if (s.type === "stream_not_found") {
        this.o.logger.error({ ...log, status: s.type }, "stream is gone: durable messages are neither stored nor consumed until a bus connects again");
      } else if (s.type === "heartbeats_missed") {
        this.o.logger.warn({ ...log, missed: s.count }, "pull heartbeats missed; pulling again");
      }
    }
  }
}

/**
 * Sends an ack, nak or term. They are fire-and-forget: one lost with the connection leaves the
 * message unacknowledged, so it is redelivered after the ack wait, which handlers tolerate.
 */
function settle(send: () => void, logger: Logger): void {
  try {
    send();
  } catch (err) {
    logger.debug({ err, op: "nats.ack" }, "acknowledgement not sent; the message will be redelivered");
  }
}

/** A counting semaphore whose release is idempotent (it may fire from a timer and from `finally`). */
class Slots {
  private free: number;
  private readonly waiters: ((release: (() => void) | undefined) => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Resolves with a release function, or undefined once cancelled. */
  acquire(): Promise<(() => void) | undefined> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Wakes every waiter with "no slot": the subscription is stopping. */
  cancel(): void {
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next(this.releaser());
      else this.free++;
    };
  }
}
