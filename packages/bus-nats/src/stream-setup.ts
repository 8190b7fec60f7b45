import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { CoordinationError } from "@shoal/coordination";

/** What the bus needs from its stream. */
export interface StreamPlan {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly replicas: number;
}

/** One queue group's consumer on one subject filter. */
export interface ConsumerPlan {
  readonly name: string;
  readonly filterSubject: string;
  readonly ackWaitMs: number;
  readonly maxDeliveries: number;
  readonly maxAckPending: number;
}

const NANOS_PER_MS = 1_000_000;

/**
 * Creates the stream or brings an existing one to the plan; safe to run from every process at
 * every connect. Retention is `interest`: a message stays until every consumer whose filter
 * matches it has acknowledged (or terminated) it. Work-queue retention refuses a second consumer
 * whose filter overlaps the first, so two groups on `piece_staged` (or a per-torrent consumer
 * next to a `*` one) could not exist; limits retention keeps acknowledged messages, piece bytes
 * included, until age or size limits evict them, unprocessed ones too once the size limit bites.
 * Discard `new`: a stream at its byte limit refuses new work rather than dropping old work.
 */
export async function ensureStream(jsm: JetStreamManager, plan: StreamPlan): Promise<void> {
  const wanted: StreamConfig = {
    name: plan.name,
    subjects: [...plan.subjects],
    retention: RetentionPolicy.Interest,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: plan.maxAgeMs * NANOS_PER_MS,
    max_bytes: plan.maxBytes,
    num_replicas: plan.replicas,
  } as StreamConfig;
  let info = await streamInfo(jsm, plan.name);
  if (info === undefined) {
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (err) {
      // Another process may have created it since: then it is updated like any existing stream.
      info = await streamInfo(jsm, plan.name);
      if (info === undefined) throw err;
    }
  }
  const have = info.config;
  if (have.retention !== wanted.retention || have.storage !== wanted.storage) {
    throw new CoordinationError(
      "INVARIANT_BROKEN",
      `stream ${plan.name} exists with ${have.retention} retention on ${have.storage} storage; the bus needs ` +
        `${wanted.retention} retention on ${wanted.storage} storage, which an existing stream cannot switch to: ` +
        `remove the stream or configure another streamName`,
      { context: { op: "nats.stream.update", stream: plan.name } },
    );
  }
  const same =
    sameSet(have.subjects ?? [], wanted.subjects) &&
    have.discard === wanted.discard &&
    have.max_age === wanted.max_age &&
    have.max_bytes === wanted.max_bytes &&
    have.num_replicas === wanted.num_replicas;
  if (!same) {
    await jsm.streams.update(plan.name, {
      subjects: wanted.subjects,
      discard: wanted.discard,
      max_age: wanted.max_age,
      max_bytes: wanted.max_bytes,
      num_replicas: wanted.num_replicas,
    });
  }
}

/**
 * Creates a group's consumer or updates its ack wait, max deliveries and ack-pending limit to
 * the subscriber's (the server allows changing those on 2.9). Deliver policy `new`: a group gets
 * the messages published after its consumer first existed, never a partial backlog that other
 * groups happen to have left unacknowledged.
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, plan: ConsumerPlan): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: plan.name,
    filter_subject: plan.filterSubject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: plan.ackWaitMs * NANOS_PER_MS,
    max_deliver: plan.maxDeliveries,
    max_ack_pending: plan.maxAckPending,
    deliver_policy: DeliverPolicy.New,
    replay_policy: ReplayPolicy.Instant,
  });
}

/**
 * Creates a declared group's consumer only when it does not exist yet, so a process that starts
 * does not reset the ack wait a running member of the group chose.
 */
export async function declareConsumer(jsm: JetStreamManager, stream: string, plan: ConsumerPlan): Promise<void> {
  try {
    await jsm.consumers.info(stream, plan.name);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    await ensureConsumer(jsm, stream, plan);
  }
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
