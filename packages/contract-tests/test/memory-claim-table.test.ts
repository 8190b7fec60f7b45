import { MemoryClaimTable } from "@shoal/coordination";
import { claimTableContract } from "@shoal/contract-tests";

// The memory table reads time only through the injected clock, so leases lapse exactly when the
// case says and the suite never waits.
let nowMs = 0;

claimTableContract({
  name: "MemoryClaimTable",
  setup: async () => {
    nowMs = 1_000_000;
    return new MemoryClaimTable(() => nowMs);
  },
  teardown: (table) => table.close(),
  advanceTime: async (ms) => {
    nowMs += ms;
  },
});
