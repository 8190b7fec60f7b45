import { MemoryBus } from "@shoal/coordination";
import { pieceBusContract } from "@shoal/contract-tests";

pieceBusContract({
  name: "MemoryBus",
  setup: async () => new MemoryBus(),
  teardown: (bus) => bus.close(),
});
