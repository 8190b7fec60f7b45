import { describe } from "vitest";
import type { ClaimTable } from "@shoal/coordination";
import { claimTableAvailabilityCases } from "./claim-table-availability.js";
import { claimTableErrorCases } from "./claim-table-error-cases.js";
import { ClaimTableFixture } from "./claim-table-fixture.js";
import { heldPieceCases } from "./claim-table-held-cases.js";
import { claimTablePeerCases } from "./claim-table-peers.js";
import { claimTablePresenceCases } from "./claim-table-presence.js";
import { claimTableProperty } from "./claim-table-property.js";
import { claimTableTorrentCases } from "./claim-table-torrent-cases.js";
import { claimTableTransitionCases } from "./claim-table-transition-cases.js";
import { caseRegistry, type PortHarness } from "./harness.js";

export interface ClaimTableHarness extends PortHarness<ClaimTable> {
  /**
   * Moves the table's clock forward by `ms`: a fake clock for the memory table, real waiting for
   * a server whose leases expire on its own clock.
   */
  advanceTime(ms: number): Promise<void>;
  /** Lease length the cases use; keep it well above one call's latency. Default 1000 ms. */
  readonly leaseTtlMs?: number;
  /** Runs of the random-operations property. Default 100. */
  readonly propertyRuns?: number;
}

/** With a fake clock the length is arbitrary; one second is long enough that no call outlives it. */
const DEFAULT_LEASE_TTL_MS = 1_000;

/** Cases every ClaimTable adapter must pass; each ends with `checkInvariants` on every torrent it made. */
export function claimTableContract(harness: ClaimTableHarness): void {
  const leaseTtlMs = harness.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  describe(`ClaimTable contract: ${harness.name}`, () => {
    const { scenario: portScenario, done } = caseRegistry(harness);
    const scenario = (title: string, body: (fx: ClaimTableFixture, table: ClaimTable) => Promise<void>): void =>
      portScenario(title, async (table) => {
        const fx = new ClaimTableFixture(table, leaseTtlMs, (ms) => harness.advanceTime(ms));
        await body(fx, table);
        await fx.expectSound();
      });

    claimTableTorrentCases(scenario);
    claimTableTransitionCases(scenario, leaseTtlMs);
    claimTableErrorCases(scenario, portScenario, leaseTtlMs);
    claimTableProperty(portScenario, harness, leaseTtlMs);
    heldPieceCases(scenario, leaseTtlMs);
    claimTablePeerCases(scenario, portScenario, harness, leaseTtlMs);
    claimTablePresenceCases(scenario, leaseTtlMs);
    claimTableAvailabilityCases(scenario, leaseTtlMs);
    done();
  });
}
