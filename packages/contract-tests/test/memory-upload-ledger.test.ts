import { MemoryUploadLedger } from "@shoal/coordination";
import { uploadLedgerContract } from "@shoal/contract-tests";

uploadLedgerContract({
  name: "MemoryUploadLedger",
  setup: async () => new MemoryUploadLedger(),
  teardown: (ledger) => ledger.close(),
  // The process is the memory ledger's backend: a "new instance on the same backend" is itself.
  reopen: async (ledger) => ledger,
});
