import { z } from "zod";
import { envNumber } from "@shoal/service-kit";

export const writerConfigSchema = z.object({
  /** Queue group shared by every writer instance: each verified piece is written once. */
  group: z.string().default("storage-writer"),
  /**
   * Seconds a write may take before the bus redelivers the piece. While a staged piece waits for
   * its verdict the wait is pushed back every `verdictPollSeconds`, so this bounds the write
   * alone, and how long a writer killed mid-wait keeps its pieces from the next one.
   */
  ackWaitSeconds: envNumber().int().positive().default(120),
  /**
   * Seconds a staged piece waits for its verdict (a broadcast, which can be lost) before the
   * writer reads the claim table for it. A lost verdict costs its piece up to this long; each
   * read is one claim-table call per waiting piece. Capped at a third of `ackWaitSeconds`, since
   * each wake also pushes the ack wait back.
   */
  verdictPollSeconds: envNumber().positive().default(3),
  /**
   * Identifies this writer in the claim table: verified pieces whose bytes wait in its memory for
   * the rest of their part are held under its lease. Random when empty, so two processes never
   * share a lease.
   */
  writerId: z.string().default(""),
  /**
   * Seconds this writer's lease on a torrent outlives its last heartbeat (sent every third of
   * it). When the process dies, the pieces it held go back to missing this long after, at the
   * torrent owner's next sweep. As the peer-workers' claim lease: long enough that a slow
   * moment or a Redis fail-over does not cost held pieces, short enough that a dead writer
   * holds the torrent up only seconds.
   */
  leaseTtlSeconds: envNumber().positive().default(15),
  /**
   * Run as its own process (`shoal service storage-writer`), a writer is active only while it
   * holds the cluster's writer lock, renewed every third of this; a second instance waits as a
   * standby and takes over within this long of the active one dying. One active writer, because
   * a multipart part is assembled in one process's memory.
   */
  activeLockSeconds: envNumber().positive().default(15),
});

export type WriterConfig = z.infer<typeof writerConfigSchema>;
