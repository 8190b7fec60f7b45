import { z } from "zod";
import { envNumber } from "@shoal/service-kit";

export const verifierConfigSchema = z.object({
  /** Queue group shared by every verifier instance: each staged piece is hashed once. */
  group: z.string().default("piece-verifier"),
  /** Seconds a verification may take before the bus redelivers the piece to another verifier. */
  ackWaitSeconds: envNumber().int().positive().default(60),
  /** Threads that hash pieces beside the event loop; 0 hashes on the event loop itself. */
  hashThreads: envNumber().int().min(0).max(64).default(0),
});

export type VerifierConfig = z.infer<typeof verifierConfigSchema>;
