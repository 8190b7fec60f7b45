import type { SubjectName } from "@shoal/coordination";

/** Message counts of one bus client since it connected, by subject name (`piece_staged`, ...). */
export interface BusStats {
  /** Messages sent and accepted: a durable one once JetStream stored it, a broadcast once handed to the client. */
  readonly published: Readonly<Partial<Record<SubjectName, number>>>;
  /** Deliveries handed to a handler here, redeliveries included. */
  readonly received: Readonly<Partial<Record<SubjectName, number>>>;
  /**
   * Durable deliveries that were not the message's first (JetStream's delivery count above 1):
   * a handler that failed, timed out or died elsewhere before acknowledging.
   */
  readonly redelivered: Readonly<Partial<Record<SubjectName, number>>>;
  /** Durable messages dropped as poison (their last delivery failed) or undecodable. */
  readonly dropped: Readonly<Partial<Record<SubjectName, number>>>;
}

/**
 * The counters behind `NatsBus.stats()`: a map increment per message, read at scrape time.
 * Keyed by subject name, never by the full NATS subject, which carries the info hash.
 */
export class BusCounters {
  private readonly published = new Map<SubjectName, number>();
  private readonly received = new Map<SubjectName, number>();
  private readonly redelivered = new Map<SubjectName, number>();
  private readonly dropped = new Map<SubjectName, number>();

  onPublished(name: SubjectName): void {
    bump(this.published, name);
  }

  /** A delivery reached a handler; `delivery` is its 1-based count (1 for a broadcast). */
  onReceived(name: SubjectName, delivery: number): void {
    bump(this.received, name);
    if (delivery > 1) bump(this.redelivered, name);
  }

  onDropped(name: SubjectName): void {
    bump(this.dropped, name);
  }

  snapshot(): BusStats {
    return {
      published: Object.fromEntries(this.published),
      received: Object.fromEntries(this.received),
      redelivered: Object.fromEntries(this.redelivered),
      dropped: Object.fromEntries(this.dropped),
    };
  }
}

function bump(m: Map<SubjectName, number>, name: SubjectName): void {
  m.set(name, (m.get(name) ?? 0) + 1);
}
