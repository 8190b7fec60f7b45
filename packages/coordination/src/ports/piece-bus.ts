import type { SubjectName, SubjectPayloads } from "../subjects.js";

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * Queue group: each message goes to one member of the group. Durable subjects require one;
   * the group's consumer survives restarts and redelivers what was not acknowledged.
   */
  readonly group?: string;
  /**
   * Durable subjects: how long a handler may take before the message is redelivered (30 s when
   * not given, JetStream's default). The slow handler is not stopped; whichever delivery resolves
   * first acknowledges the message, and an acknowledged message is not redelivered.
   */
  readonly ackWaitMs?: number;
  /** Durable subjects: deliveries before the message is dropped as poison. */
  readonly maxDeliveries?: number;
  /**
   * Durable subjects: this group is the last to need the bytes of the messages it takes (the
   * storage-writer, which finishes a piece only after the verifier's verdict). Once its handler
   * resolves, or the message is dropped as poison, a bus that stored the bytes apart from the
   * message (NATS, for bytes over its `max_payload`) drops them; without such a group they are
   * dropped by age.
   */
  readonly releasesBytes?: boolean;
  /**
   * Durable subjects: the handler keeps no view of the payload's byte fields once its promise
   * settles (it copies what it keeps), so the bus may reuse the memory those bytes arrived in
   * for a later message. Without it, byte fields stay valid for as long as anything holds them.
   */
  readonly bytesLent?: boolean;
}

/** One delivery of a message to a handler. */
export interface Delivery {
  /** The attempt number of the delivery, starting at 1; a handler sees >1 after a redelivery. */
  readonly redeliveryCount: number;
  /**
   * Durable subjects: the handler is still at work on this delivery, so its ack wait starts
   * again from now (JetStream's "working" acknowledgement). A handler that waits on something
   * outside the bus (a verdict, a slow store) calls it more often than the ack wait to keep its
   * message from being redelivered meanwhile. A no-op for broadcasts, and once the delivery was
   * acknowledged or superseded by a redelivery.
   */
  inProgress(): void;
}

/**
 * Messages between services. Handlers must be idempotent: a message can arrive twice, late, or
 * after its piece moved on. A durable message's bytes may be larger than one message of the
 * backend: the bus carries them apart (NATS: in chunks) and hands the handler the whole field;
 * when it finds them gone (dropped by the group that releases them, or by age), it delivers the
 * message without that field, as if the bytes had never ridden the bus. For durable subjects a handler that resolves acknowledges the message
 * and one that rejects gets it again later. Methods throw CoordinationError BACKEND_UNAVAILABLE
 * (retryable) when the bus is down, which it is for this instance once `close` was called (a
 * second `close` is harmless).
 */
export interface PieceBus {
  /**
   * The largest encoded message the backend carries in one message (NATS: the server's
   * `max_payload`); undefined when there is no limit (the in-memory bus). Durable bytes larger
   * than this travel in chunks on NATS; broadcasts must fit.
   */
  readonly maxPayloadBytes?: number;
  /**
   * Sends one message. Throws BACKEND_UNAVAILABLE (retryable) when the bus is down, and
   * PAYLOAD_TOO_LARGE (not retryable) when the encoded message exceeds what the backend carries
   * (a broadcast over `maxPayloadBytes`; a durable message whose fields other than bytes do not
   * fit in one message). A durable
   * publish that failed with BACKEND_UNAVAILABLE may still have been stored, so a retry can
   * deliver the message twice.
   */
  publish<S extends SubjectName>(name: S, payload: SubjectPayloads[S]): Promise<void>;
  subscribe<S extends SubjectName>(
    name: S,
    infoHash: string | "*",
    handler: (payload: SubjectPayloads[S], delivery: Delivery) => Promise<void> | void,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  close(): Promise<void>;
}
