import { describe, expect, it } from "vitest";
import * as coordination from "@shoal/coordination";
import { MemoryUploadLedger } from "../src/index.js";

// The ledger's behaviour is the UploadLedger contract suite's (packages/contract-tests); here only
// that the store still hands out the port's memory stand-in under its old name.
describe("the store's upload ledger export", () => {
  it("is the MemoryUploadLedger of @shoal/coordination", () => {
    expect(MemoryUploadLedger).toBe(coordination.MemoryUploadLedger);
  });
});
