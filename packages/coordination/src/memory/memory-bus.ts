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
}

/** Redelivery delay of a durable message whose handler failed: short, since it is all in-process. */
const REDELIVERY_DELAY_MS = 50;
/** Default deliveries before a durable message is dropped as poison (JetStream's max_deliver). */
const DEFAULT_MAX_DELIVERIES = 20;

/**
 * The in-process PieceBus of embedded mode, with the contract of the NATS adapter: broadcasts
 * reach every subscriber, a queue group gets each message once (round robin), durable messages
 * are redelivered until a handler succeeds. Delivery is always asynchronous, never re-entrant.
 */
export class MemoryBus implements PieceBus {
  private readonly subs = new Set<Sub>();
  private readonly rr = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  /** Durable messages published while no group member existed are kept, as a stream would. */
  private readonly backlog: { name: SubjectName; payload: unknown; group: string | undefined; deliveryNo: number }[] = [];

  /** Unlimited unless given: one process hands payloads over by reference. */
  readonly maxPayloadBytes: number | undefined;

  /**
   * @param options.maxPayloadBytes a limit on the bytes fields of a message, as a NATS server's
   *   `max_payload` limits a message: for tests of what senders do with pieces that do not fit.
   */
  constructor(
    private readonly onHandlerError: (err: unknown, name: SubjectName) => void = () => {},
    options: { readonly maxPayloadBytes?: number } = {},
  ) {
    this.maxPayloadBytes = options.maxPayloadBytes;
  }

  async publish<S extends SubjectName>(name: S, payload: SubjectPayloads[S]): Promise<void> {
    if (this.closed) throw new CoordinationError("BACKEND_UNAVAILABLE", `bus is closed; cannot publish ${name}`);
    if (this.maxPayloadBytes !== undefined) {
      let bytes = 0;
      for (const v of Object.values(payload)) if (v instanceof Uint8Array) bytes += v.byteLength;
      if (bytes > this.maxPayloadBytes) {
        throw new CoordinationError("PAYLOAD_TOO_LARGE", `${name} carries ${bytes} bytes, more than the bus's limit of ${this.maxPayloadBytes}`, {
          context: { subject: name, bytes, limit: this.maxPayloadBytes },
        });
      }
    }
    this.dispatch(name, payload, 1);
  }

  async subscribe<S extends SubjectName>(
    name: S,
    infoHash: string,
    handler: (payload: SubjectPayloads[S], delivery: Delivery) => Promise<void> | void,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    if (SUBJECTS[name].durable && !options.group) {
      throw new CoordinationError("INVARIANT_BROKEN", `durable subject ${name} needs a queue group`);
    }
    const sub: Sub = {
      name,
      infoHash,
      handler: handler as AnyHandler,
      group: options.group,
      maxDeliveries: options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES,
    };
    this.subs.add(sub);
    if (SUBJECTS[name].durable) {
      const waiting = this.backlog.filter(
        (m) => m.name === name && matches(sub, m.payload) && (m.group === undefined || m.group === sub.group),
      );
      for (const m of waiting) {
        this.backlog.splice(this.backlog.indexOf(m), 1);
        this.dispatch(m.name, m.payload, m.deliveryNo, sub.group);
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

  /** Delivers to every subscriber and one member per group; with `onlyGroup`, to one member of that group only. */
  private dispatch(name: SubjectName, payload: unknown, deliveryNo: number, onlyGroup?: string): void {
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
    if (chosen.length === 0 && SUBJECTS[name].durable) {
      this.backlog.push({ name, payload, group: onlyGroup, deliveryNo });
      return;
    }
    for (const sub of chosen) this.run(sub, payload, deliveryNo);
  }

  private run(sub: Sub, payload: unknown, deliveryNo: number): void {
    const p = (async () => {
      await new Promise<void>((r) => setImmediate(r));
      try {
        await sub.handler(payload, { redeliveryCount: deliveryNo });
      } catch (err) {
        this.onHandlerError(err, sub.name);
        if (SUBJECTS[sub.name].durable && deliveryNo < sub.maxDeliveries && !this.closed) {
          setTimeout(() => this.dispatch(sub.name, payload, deliveryNo + 1, sub.group), REDELIVERY_DELAY_MS).unref();
        }
      }
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

function matches(sub: Sub, payload: unknown): boolean {
  return sub.infoHash === "*" || (payload as { infoHash?: string }).infoHash === sub.infoHash;
}
