import { MemoryCatalog } from "@shoal/coordination";
import { torrentCatalogContract } from "@shoal/contract-tests";

torrentCatalogContract({
  name: "MemoryCatalog",
  setup: async () => new MemoryCatalog(),
  teardown: (catalog) => catalog.close(),
});
