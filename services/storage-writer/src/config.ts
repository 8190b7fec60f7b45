import { z } from "zod";
import { envNumber } from "@shoal/service-kit";

export const writerConfigSchema = z.object({
  /** Queue group shared by every writer instance: each verified piece is written once. */
  group: z.string().default("storage-writer"),
  /** Seconds a write may take before the bus redelivers the piece. */
  ackWaitSeconds: envNumber().int().positive().default(120),
});

export type WriterConfig = z.infer<typeof writerConfigSchema>;
