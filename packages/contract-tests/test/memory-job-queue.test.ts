import { MemoryJobQueue } from "@shoal/coordination";
import { jobQueueContract } from "@shoal/contract-tests";

jobQueueContract({
  name: "MemoryJobQueue",
  // Two attempts: the suite needs a policy that retries a retryable failure once.
  setup: async () => new MemoryJobQueue(2),
  teardown: (queue) => queue.close(),
});
