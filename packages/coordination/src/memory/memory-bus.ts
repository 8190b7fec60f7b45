import { CoordinationError } from "../errors.js";
import type { Delivery, PieceBus, SubscribeOptions, Subscription } from "../ports/piece-bus.js";
import { SUBJECTS, type SubjectName, type SubjectPayloads } from "../subjects.js";

type AnyHandler = (payload: unknown, delivery: Delivery) => Promise<void> | void;

interface Sub {
  readonly name: SubjectName;
  readonly infoHash: string;
  readonly handler: AnyHandler;
  readonly group: string | undefined;
  readonly maxDeliveries: number;
  readonly ackWaitMs: number;
}

/**
 * One durable message on its way to one queue group. It is delivered again when a delivery's
 * handler rejects or stays unresolved for `ackWaitMs`, until one delivery is acknowledged or
 * `maxDeliveries` is used up.
 */
interface Tracked {
  readonly name: SubjectName;
  readonly payload: unknown;
  readonly group: string | undefined;
  /** Deliveries started so far; the number of the newest one. */
  deliveries: number;
  acked: boolean;
  /** The ack-wait or redelivery timer of the newest delivery. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Redelivery delay of a durable message whose handler failed: short, since it is all in-process. */
const REDELIVERY_DELAY_MS = 50;
/** Default deliveries before a durable message is dropped as poison (JetStream's max_deliver). */
const DEFAULT_MAX_DELIVERIES = 20;
/** Default time a durable handler may run before its message is delivered again (JetStream's ack_wait). */
const DEFAULT_ACK_WAIT_MS = 30_000;

/**
 * The in-process PieceBus of embedded mode, with the contract of the NATS adapter: broadcasts
 * reach every subscriber, a queue group gets each message once (round robin), durable messages
 * are redelivered until a handler succeeds: after a handler rejects, and after one that has not
 * resolved within `ackWaitMs` of its start or of its last `inProgress` (the first delivery keeps
 * running; whichever delivery resolves first acknowledges the message). Delivery is always asynchronous, never re-entrant. After
 * `close` the bus is down: `publish` and `subscribe` throw BACKEND_UNAVAILABLE.
 */
export class MemoryBus implements PieceBus {
  private readonly subs = new Set<Sub>();
  private readonly rr = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  /** Durable messages published while no group member existed are kept, as a stream would. */
  private readonly backlog: { name: SubjectName; payload: unknown; tracked: Tracked | undefined }[] = [];

  /** Unlimited unless given: one process hands payloads over by reference. */
  readonly maxPayloadBytes: number | undefined;

  /**
   * @param options.maxPayloadBytes a limit on the bytes fields of a broadcast, as a NATS server's
   *   `max_payload` limits a message; durable messages carry bytes of any size, as the NATS bus
   *   does in chunks: for tests of senders of pieces larger than one message.
   */
  constructor(
    private readonly onHandlerError: (err: unknown, name: SubjectName) => void = () => {},
    options: { readonly maxPayloadBytes?: number } = {},
  ) {
    this.maxPayloadBytes = options.maxPayloadBytes;
  }

  async publish<S extends SubjectName>(name: S, payload: SubjectPayloads[S]): Promise<void> {
    this.ensureOpen(`publish ${name}`);
    // Durable bytes of any size ride the bus (the NATS bus carries them in chunks); a broadcast must fit.
    if (this.maxPayloadBytes !== undefined && !SUBJECTS[name].durable) {
      let bytes = 0;
      for (const v of Object.values(payload)) if (v instanceof Uint8Array) bytes += v.byteLength;
      if (bytes > this.maxPayloadBytes) {
        throw new CoordinationError("PAYLOAD_TOO_LARGE", `${name} carries ${bytes} bytes, more than the bus's limit of ${this.maxPayloadBytes}`, {
          context: { subject: name, bytes, limit: this.maxPayloadBytes },
        });
      }
    }
    this.dispatch(name, payload, undefined);
  }

  async subscribe<S extends SubjectName>(
    name: S,
    infoHash: string,
    handler: (payload: SubjectPayloads[S], delivery: Delivery) => Promise<void> | void,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.ensureOpen(`subscribe to ${name}`);
    if (SUBJECTS[name].durable && !options.group) {
      throw new CoordinationError("INVARIANT_BROKEN", `durable subject ${name} needs a queue group`);
    }
    const sub: Sub = {
      name,
      infoHash,
      handler: handler as AnyHandler,
      group: options.group,
      maxDeliveries: options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES,
      ackWaitMs: options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
    };
    this.subs.add(sub);
    if (SUBJECTS[name].durable) {
      const waiting = this.backlog.filter(
        (m) => m.name === name && matches(sub, m.payload) && (m.tracked === undefined || m.tracked.group === sub.group),
      );
      for (const m of waiting) {
        this.backlog.splice(this.backlog.indexOf(m), 1);
        this.dispatch(m.name, m.payload, m.tracked ?? this.track(m.name, m.payload, sub.group));
      }
    }
    return { unsubscribe: async () => void this.subs.delete(sub) };
  }

  /** Resolves when every handler started so far has finished (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    this.subs.clear();
  }

  private ensureOpen(what: string): void {
    if (this.closed) {
      throw new CoordinationError("BACKEND_UNAVAILABLE", `bus is closed; cannot ${what}`, { retryable: true });
    }
  }

  private track(name: SubjectName, payload: unknown, group: string | undefined): Tracked {
    return { name, payload, group, deliveries: 0, acked: false, timer: undefined };
  }

  /**
   * Delivers to every subscriber and one member per group. A `tracked` message is a redelivery
   * (or a backlog entry that found its group) and goes to one member of its group only.
   */
  private dispatch(name: SubjectName, payload: unknown, tracked: Tracked | undefined): void {
    const onlyGroup = tracked?.group;
    const targets = [...this.subs].filter(
      (s) => s.name === name && matches(s, payload) && (onlyGroup === undefined || s.group === onlyGroup),
    );
    const byGroup = new Map<string, Sub[]>();
    const chosen: Sub[] = [];
    for (const s of targets) {
      if (s.group === undefined) chosen.push(s);
      else byGroup.set(s.group, [...(byGroup.get(s.group) ?? []), s]);
    }
    for (const [group, members] of byGroup) {
      const key = `${name}/${group}`;
      const n = this.rr.get(key) ?? 0;
      this.rr.set(key, n + 1);
      chosen.push(members[n % members.length]!);
    }
    const durable = SUBJECTS[name].durable;
    if (chosen.length === 0 && durable) {
      this.backlog.push({ name, payload, tracked });
      return;
    }
    for (const sub of chosen) this.run(sub, payload, durable ? (tracked ?? this.track(name, payload, sub.group)) : undefined);
  }

  /** Runs one delivery; for a durable message, also its ack-wait timer and its redelivery. */
  private run(sub: Sub, payload: unknown, tracked: Tracked | undefined): void {
    const deliveryNo = tracked ? ++tracked.deliveries : 1;
    const p = (async () => {
      await new Promise<void>((r) => setImmediate(r));
      const armAckWait = (): void => {
        if (!tracked || tracked.acked || tracked.deliveries !== deliveryNo) return;
        clearTimeout(tracked.timer);
        tracked.timer = setTimeout(() => {
          if (!tracked.acked && tracked.deliveries === deliveryNo) this.redeliver(sub, tracked);
        }, sub.ackWaitMs);
        tracked.timer.unref?.();
      };
      armAckWait();
      try {
        await sub.handler(payload, { redeliveryCount: deliveryNo, inProgress: armAckWait });
        if (tracked && !tracked.acked) {
          tracked.acked = true;
          clearTimeout(tracked.timer);
        }
      } catch (err) {
        this.onHandlerError(err, sub.name);
        // A failure counts only for the newest delivery: when the ack wait already started
        // another one, that delivery decides what happens next.
        if (tracked && !tracked.acked && tracked.deliveries === deliveryNo) {
          clearTimeout(tracked.timer);
          tracked.timer = setTimeout(() => this.redeliver(sub, tracked), REDELIVERY_DELAY_MS);
          tracked.timer.unref?.();
        }
      }
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Delivers a durable message once more, unless the bus closed or its deliveries are used up (poison). */
  private redeliver(sub: Sub, tracked: Tracked): void {
    if (this.closed || tracked.acked || tracked.deliveries >= sub.maxDeliveries) return;
    this.dispatch(tracked.name, tracked.payload, tracked);
  }
}

function matches(sub: Sub, payload: unknown): boolean {
  return sub.infoHash === "*" || (payload as { infoHash?: string }).infoHash === sub.infoHash;
}
