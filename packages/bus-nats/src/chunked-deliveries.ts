import type { Logger } from "@shoal/service-kit";
import type { ByteBudget } from "./byte-budget.js";
import type { BytesStream } from "./bytes-stream.js";
import type { ChunkRef } from "./chunk-plan.js";
import { chunkRefsOf, chunkedBytes } from "./chunked-fields.js";
import { toCoordinationError } from "./errors.js";

/** An infoHash as it can stand in a subject; anything else cannot name chunks. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** A delivery's payload with its chunked fields put back, and what to do once it is handled. */
export interface ResolvedDelivery {
  readonly payload: unknown;
  /** Gives the fields' bytes back to the subscription's budget: the handler is done with them. */
  done(): void;
  /** Drops the message's chunks from the bytes stream, when this group releases bytes. */
  release(): void;
}

const NOTHING: Omit<ResolvedDelivery, "payload"> = { done: () => {}, release: () => {} };

/**
 * The chunk side of one durable subscription: before a handler runs, every field the message
 * carries as a chunk reference is fetched and put back together, within the subscription's
 * byte budget; after it, a releasing group drops the chunks. A message without references
 * passes through untouched.
 */
export class ChunkedDeliveries {
  constructor(
    private readonly o: {
      readonly bytes: BytesStream;
      readonly budget: ByteBudget;
      /** This group is the last to need the bytes (`SubscribeOptions.releasesBytes`). */
      readonly releasesBytes: boolean;
      /** How often a delivery waiting for budget or chunks tells the server it is still at work. */
      readonly keepAliveMs: number;
      readonly logger: Logger;
    },
  ) {}

  /**
   * Resolves the message's chunked fields. A field whose chunks are gone or are not what its
   * reference names is left out of the payload (the handler sees a message whose bytes never
   * rode the bus) and logged; a server that cannot answer now rejects with BACKEND_UNAVAILABLE,
   * so the message is delivered again later. `inProgress` keeps the message's ack wait from
   * running out while it waits for budget.
   */
  async resolve(payload: unknown, inProgress: () => void, log: Record<string, unknown>): Promise<ResolvedDelivery> {
    const { refs, malformed } = chunkRefsOf(payload);
    if (refs.length === 0 && malformed.length === 0) return { payload, ...NOTHING };
    const out: Record<string, unknown> = { ...(payload as Record<string, unknown>) };
    const infoHash = out["infoHash"];
    for (const [key, why] of malformed) {
      delete out[key];
      this.o.logger.warn({ ...log, field: key }, `bytes of field ${key} cannot be found: ${why}`);
    }
    if (typeof infoHash !== "string" || !TOKEN.test(infoHash)) {
      for (const [key] of refs) delete out[key];
      this.o.logger.warn({ ...log }, `chunked message names no usable infoHash (${JSON.stringify(infoHash)}); its bytes cannot be found`);
      return { payload: out, ...NOTHING };
    }
    const keepAlive = setInterval(inProgress, this.o.keepAliveMs);
    keepAlive.unref();
    try {
      const done = await this.o.budget.acquire(chunkedBytes(refs));
      try {
        for (const [key, ref] of refs) {
          const got = await this.o.bytes.fetch(infoHash, ref).catch((err: unknown) => {
            throw toCoordinationError(err, "nats.direct.get", `fetch the ${ref.seqs.length} chunks of field ${key}`);
          });
          if ("bytes" in got) {
            out[key] = got.bytes;
            continue;
          }
          delete out[key];
          this.o.logger.debug({ ...log, field: key, chunks: ref.id }, `bytes of field ${key} are gone: ${got.lost}`);
        }
      } catch (err) {
        done();
        throw err;
      }
      return { payload: out, done, release: () => this.release(infoHash, refs, log) };
    } finally {
      clearInterval(keepAlive);
    }
  }

  private release(infoHash: string, refs: readonly [string, ChunkRef][], log: Record<string, unknown>): void {
    if (!this.o.releasesBytes) return;
    for (const [, ref] of refs) {
      // Best effort: chunks a purge missed age out of the stream.
      this.o.bytes.drop(infoHash, ref.id).catch((err: unknown) => this.o.logger.debug({ ...log, err, chunks: ref.id }, "chunks not purged; they age out"));
    }
  }
}
