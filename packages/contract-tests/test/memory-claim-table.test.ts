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
  knownFailures: [
    // Bug in MemoryClaimTable.claim: it validates each candidate inside the claiming loop, so an
    // out-of-range index throws after the earlier candidates were already claimed. The caller gets
    // an error and never learns of those claims, which a live worker then holds forever.
    "claim checks every candidate before taking any",
  ],
});
