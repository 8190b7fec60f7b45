import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "@shoal/service-kit";
import { peerWorkerConfigSchema } from "../src/config.js";

const load = (env: Record<string, string>) => loadConfig(peerWorkerConfigSchema, { prefix: "peer-worker", env });

describe("peer-worker config: claimRunMiB", () => {
  it("claims in 16 MiB runs unless told otherwise, and 0 turns runs off", () => {
    expect(load({}).claimRunMiB).toBe(16);
    expect(load({ SHOAL_PEER_WORKER_CLAIM_RUN_MIB: "0" }).claimRunMiB).toBe(0);
    expect(load({ SHOAL_PEER_WORKER_CLAIM_RUN_MIB: "64" }).claimRunMiB).toBe(64);
  });

  it("refuses a negative run, naming the key and its variable", () => {
    expect(() => load({ SHOAL_PEER_WORKER_CLAIM_RUN_MIB: "-1" })).toThrow(ConfigError);
    expect(() => load({ SHOAL_PEER_WORKER_CLAIM_RUN_MIB: "-1" })).toThrow(/claimRunMiB \(SHOAL_PEER_WORKER_CLAIM_RUN_MIB/);
  });
});

describe("peer-worker config: availabilitySyncSeconds", () => {
  it("exchanges the cluster's availability every 2 s unless told otherwise, and 0 turns it off", () => {
    expect(load({}).availabilitySyncSeconds).toBe(2);
    expect(load({ SHOAL_PEER_WORKER_AVAILABILITY_SYNC_SECONDS: "0" }).availabilitySyncSeconds).toBe(0);
    expect(load({ SHOAL_PEER_WORKER_AVAILABILITY_SYNC_SECONDS: "0.5" }).availabilitySyncSeconds).toBe(0.5);
  });

  it("refuses a negative interval, naming the key and its variable", () => {
    expect(() => load({ SHOAL_PEER_WORKER_AVAILABILITY_SYNC_SECONDS: "-2" })).toThrow(
      /availabilitySyncSeconds \(SHOAL_PEER_WORKER_AVAILABILITY_SYNC_SECONDS/,
    );
  });
});
