import { randomBytes } from "node:crypto";
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { headers, TimeoutError } from "@nats-io/transport-node";
import { CoordinationError } from "@shoal/coordination";
import { CHUNK_HEADER, ChunkAssembly, chunkCount, chunkHeaderValue, chunkRange, type ChunkRef } from "./chunk-plan.js";
import type { SubjectSpace } from "./naming.js";

/** What the bytes stream needs from the bus config. */
export interface BytesStreamPlan {
  readonly name: string;
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly replicas: number;
  readonly requestTimeoutMs: number;
}

/**
 * Chunk publishes or direct gets of one field in flight at once. A few hide the round trip on
 * a remote server without queueing a whole 16 MiB piece in the client's outbound buffer.
 */
const WINDOW = 4;
/**
 * Tries of one direct get that times out. A timeout on a loaded server costs this chunk a
 * second request, where failing the fetch would cost the whole message a redelivery (after a
 * delay, every chunk fetched again, one of its deliveries spent).
 */
const GET_TRIES = 2;
const NANOS_PER_MS = 1_000_000;

/** The outcome of a fetch: the whole field, or why its bytes cannot be had any more. */
export type Fetched = { readonly bytes: Buffer } | { readonly lost: string };

/**
 * The second stream of the bus: byte fields of durable messages that do not fit in one message
 * of the server's `max_payload`, as chunks on `<prefix>.shoal.<infoHash>.bytes.<id>`, one id per
 * message. The message itself (on the durable stream, with its groups and redelivery) carries
 * the chunks' stream sequences; every member of every group that takes it fetches the chunks
 * with direct gets by sequence, so the chunks of one piece reach whichever process took its
 * message, whatever the group's other members pull.
 *
 * Limits retention, not interest: no consumer reads this stream, so interest retention would
 * drop a chunk the moment it is stored. The group that finishes last with the bytes (the
 * storage-writer) purges a message's chunks by subject when its handler resolves; `max_age`
 * is the backstop for chunks nobody releases (a publish that failed halfway, a message dropped
 * as poison elsewhere). Discard `old`: at a byte limit the oldest chunks go, whose pieces have
 * most likely moved on, and a piece whose chunks went is fetched again.
 */
export class BytesStream {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly subjects: SubjectSpace,
    private readonly plan: BytesStreamPlan,
  ) {}

  /** Creates the stream or brings an existing one to the plan; safe from every process at every connect. */
  async ensure(): Promise<void> {
    const wanted = {
      name: this.plan.name,
      subjects: [this.subjects.bytesSubject("*", "*")],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: this.plan.maxAgeMs * NANOS_PER_MS,
      max_bytes: this.plan.maxBytes,
      num_replicas: this.plan.replicas,
      allow_direct: true,
    } as StreamConfig;
    let info = await this.info();
    if (info === undefined) {
      try {
        await this.jsm.streams.add(wanted);
        return;
      } catch (err) {
        // Another process may have created it since: then it is checked like any existing one.
        info = await this.info();
        if (info === undefined) throw err;
      }
    }
    const have = info.config;
    if (have.retention !== wanted.retention || have.storage !== wanted.storage) {
      throw new CoordinationError(
        "INVARIANT_BROKEN",
        `stream ${wanted.name} exists with ${have.retention} retention on ${have.storage} storage; the bus keeps chunks in ` +
          `${wanted.retention} retention on ${wanted.storage} storage: remove the stream or configure another streamName`,
        { context: { op: "nats.stream.update", stream: wanted.name } },
      );
    }
    const same =
      (have.subjects ?? []).length === 1 &&
      have.subjects?.[0] === wanted.subjects[0] &&
      have.discard === wanted.discard &&
      have.max_age === wanted.max_age &&
      have.max_bytes === wanted.max_bytes &&
      have.num_replicas === wanted.num_replicas &&
      have.allow_direct === true;
    if (!same) {
      await this.jsm.streams.update(wanted.name, {
        subjects: wanted.subjects,
        discard: wanted.discard,
        max_age: wanted.max_age,
        max_bytes: wanted.max_bytes,
        num_replicas: wanted.num_replicas,
        allow_direct: true,
      });
    }
  }

  /**
   * Stores `bytes` as chunks of at most `chunkBytes` and resolves with the reference the message
   * carries instead. Each chunk is stored once JetStream acknowledged it; a failure drops what
   * was stored (best effort: `max_age` takes what a dead server keeps) and rethrows.
   */
  async put(infoHash: string, bytes: Uint8Array, chunkBytes: number): Promise<ChunkRef> {
    const id = randomBytes(8).toString("hex");
    const subject = this.subjects.bytesSubject(infoHash, id);
    const count = chunkCount(bytes.byteLength, chunkBytes);
    const seqs = new Array<number>(count);
    try {
      await inWindows(count, async (index) => {
        const { offset, length } = chunkRange(bytes.byteLength, chunkBytes, index);
        const h = headers();
        h.set(CHUNK_HEADER, chunkHeaderValue({ id, index, offset, total: bytes.byteLength }));
        const ack = await this.js.publish(subject, bytes.subarray(offset, offset + length), { headers: h, timeout: this.plan.requestTimeoutMs });
        seqs[index] = ack.seq;
      });
    } catch (err) {
      void this.drop(infoHash, id).catch(() => undefined);
      throw err;
    }
    return { id, length: bytes.byteLength, chunkBytes, seqs };
  }

  /**
   * Fetches and checks every chunk of a field. Resolves `{ lost }` when a chunk is gone
   * (purged, aged out) or is not the one the reference names (another message's chunk at that
   * sequence, of a stream re-created since); rejects when the server cannot be asked now, so
   * the message is delivered again later.
   */
  async fetch(infoHash: string, ref: ChunkRef): Promise<Fetched> {
    const subject = this.subjects.bytesSubject(infoHash, ref.id);
    const assembly = new ChunkAssembly(ref);
    let lost: string | undefined;
    await inWindows(ref.seqs.length, async (index) => {
      if (lost !== undefined) return;
      const seq = ref.seqs[index]!;
      const m = await this.getChunk(seq);
      if (m === null) {
        lost ??= `chunk ${index} (stream sequence ${seq}) is gone`;
        return;
      }
      if (m.subject !== subject) {
        lost ??= `stream sequence ${seq} holds ${m.subject}, not chunk ${index} of ${subject}`;
        return;
      }
      const verdict = assembly.add(index, m.header?.get(CHUNK_HEADER) || undefined, m.data);
      if (!verdict.ok) lost ??= verdict.why;
    });
    if (lost !== undefined) return { lost };
    return { bytes: assembly.bytes() };
  }

  /** Drops every chunk of one message (one purge by subject, orphans of a retried chunk included). */
  async drop(infoHash: string, id: string): Promise<void> {
    await this.jsm.streams.purge(this.plan.name, { filter: this.subjects.bytesSubject(infoHash, id) });
  }

  private async getChunk(seq: number): Promise<Awaited<ReturnType<JetStreamManager["direct"]["getMessage"]>>> {
    for (let tried = 1; ; tried++) {
      try {
        return await this.jsm.direct.getMessage(this.plan.name, { seq });
      } catch (err) {
        if (tried >= GET_TRIES || !(err instanceof TimeoutError)) throw err;
      }
    }
  }

  private async info(): Promise<StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(this.plan.name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    }
  }
}

/**
 * Runs `task(0..count-1)`, at most `WINDOW` at once, in index order; rejects with the first
 * failure, after which no further task starts.
 */
async function inWindows(count: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < count && !failed) {
      try {
        await task(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, lane));
}
