import { MemoryBus } from "@shoal/coordination";
import { pieceBusContract } from "@shoal/contract-tests";

pieceBusContract({
  name: "MemoryBus",
  setup: async () => new MemoryBus(),
  teardown: (bus) => bus.close(),
  knownFailures: [
    // Bug in MemoryBus.run: a failed durable delivery is redelivered through dispatch(), which
    // fans the message out to every group and subscriber again, not only to the failed group,
    // so the groups whose handlers succeeded get a duplicate.
    "a redelivery goes only to the group whose handler failed",
  ],
});
