import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, envBoolean, envNameOf, envNumber, loadConfig } from "../src/index.js";

/** A schema shaped like the services' own: numbers and booleans from strings, and plain strings. */
const schema = z.object({
  /** A key with a default. */
  maxConnections: envNumber().int().positive().default(80),
  listenPort: envNumber().int().min(0).max(65535).default(6881),
  pipelineSeconds: envNumber().positive().default(2),
  listenPortFallback: envBoolean().default(true),
  group: z.string().default("storage-writer"),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

const prefix = "peer-worker";

/** Runs loadConfig and returns the ConfigError it must throw. */
function configError(run: () => unknown): ConfigError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.code).toBe("INVALID_CONFIG");
  return err;
}

describe("envNameOf", () => {
  it("turns camelCase keys and kebab-case prefixes into SHOAL_<SERVICE>_<KEY>", () => {
    expect(envNameOf("peer-worker", "maxConnections")).toBe("SHOAL_PEER_WORKER_MAX_CONNECTIONS");
    expect(envNameOf("storage-writer", "ackWaitSeconds")).toBe("SHOAL_STORAGE_WRITER_ACK_WAIT_SECONDS");
    expect(envNameOf("tracker-poller", "udpRetransmitBaseMs")).toBe("SHOAL_TRACKER_POLLER_UDP_RETRANSMIT_BASE_MS");
    expect(envNameOf("piece-verifier", "hashThreads")).toBe("SHOAL_PIECE_VERIFIER_HASH_THREADS");
    expect(envNameOf("", "maxConnections")).toBe("SHOAL_MAX_CONNECTIONS");
    expect(envNameOf("x", "sha1Threads")).toBe("SHOAL_X_SHA1_THREADS");
  });
});

describe("loadConfig", () => {
  it("uses every default when neither environment nor overrides say anything", () => {
    expect(loadConfig(schema, { prefix })).toEqual({
      maxConnections: 80,
      listenPort: 6881,
      pipelineSeconds: 2,
      listenPortFallback: true,
      group: "storage-writer",
      logLevel: "info",
    });
  });

  it("reads SHOAL_<SERVICE>_<KEY> variables and coerces them to the schema's types", () => {
    const config = loadConfig(schema, {
      prefix,
      env: {
        SHOAL_PEER_WORKER_MAX_CONNECTIONS: "120",
        SHOAL_PEER_WORKER_LISTEN_PORT: "0",
        SHOAL_PEER_WORKER_PIPELINE_SECONDS: "0.5",
        SHOAL_PEER_WORKER_LISTEN_PORT_FALLBACK: "false",
        SHOAL_PEER_WORKER_GROUP: "writers-eu",
        SHOAL_PEER_WORKER_LOG_LEVEL: "debug",
      },
    });
    expect(config).toEqual({
      maxConnections: 120,
      listenPort: 0,
      pipelineSeconds: 0.5,
      listenPortFallback: false,
      group: "writers-eu",
      logLevel: "debug",
    });
  });

  it("reads booleans as true/false or 1/0", () => {
    const read = (value: string) =>
      loadConfig(schema, { prefix, env: { SHOAL_PEER_WORKER_LISTEN_PORT_FALLBACK: value } }).listenPortFallback;
    expect([read("true"), read("1"), read("false"), read("0")]).toEqual([true, true, false, false]);
  });

  it("lets overrides win over the environment, and the environment over defaults", () => {
    const config = loadConfig(schema, {
      prefix,
      env: { SHOAL_PEER_WORKER_MAX_CONNECTIONS: "120", SHOAL_PEER_WORKER_LISTEN_PORT: "7000" },
      overrides: { maxConnections: 30, listenPortFallback: false },
    });
    expect(config.maxConnections).toBe(30);
    expect(config.listenPort).toBe(7000);
    expect(config.listenPortFallback).toBe(false);
    expect(config.pipelineSeconds).toBe(2);
  });

  it("treats an undefined override as absent, so an unset flag keeps the environment's value", () => {
    const config = loadConfig(schema, {
      prefix,
      env: { SHOAL_PEER_WORKER_LISTEN_PORT: "7000" },
      overrides: { listenPort: undefined },
    });
    expect(config.listenPort).toBe(7000);
  });

  it("treats an empty or blank variable as unset instead of coercing it to 0", () => {
    const config = loadConfig(schema, {
      prefix,
      env: { SHOAL_PEER_WORKER_LISTEN_PORT: "   ", SHOAL_PEER_WORKER_MAX_CONNECTIONS: "", SHOAL_PEER_WORKER_GROUP: "\t" },
    });
    expect(config.listenPort).toBe(6881);
    expect(config.maxConnections).toBe(80);
    expect(config.group).toBe("storage-writer");
  });

  it("ignores variables of other services and other prefixes", () => {
    const config = loadConfig(schema, {
      prefix,
      env: { SHOAL_STORAGE_WRITER_GROUP: "other", MAX_CONNECTIONS: "1", SHOAL_MAX_CONNECTIONS: "2", PATH: "/usr/bin" },
    });
    expect(config.group).toBe("storage-writer");
    expect(config.maxConnections).toBe(80);
  });

  it("refuses a malformed variable, naming the key, its variable and that it came from the environment", () => {
    const cases: Array<[name: string, value: string]> = [
      ["SHOAL_PEER_WORKER_MAX_CONNECTIONS", "lots"],
      ["SHOAL_PEER_WORKER_MAX_CONNECTIONS", "-5"],
      ["SHOAL_PEER_WORKER_MAX_CONNECTIONS", "2.5"],
      ["SHOAL_PEER_WORKER_LISTEN_PORT", "65536"],
      ["SHOAL_PEER_WORKER_PIPELINE_SECONDS", "Infinity"],
      ["SHOAL_PEER_WORKER_LISTEN_PORT_FALLBACK", "yes"],
      ["SHOAL_PEER_WORKER_LOG_LEVEL", "verbose"],
    ];
    for (const [name, value] of cases) {
      const err = configError(() => loadConfig(schema, { prefix, env: { [name]: value } }));
      const key = [...Object.keys(schema.shape)].find((k) => envNameOf(prefix, k) === name)!;
      expect(err.message, `${name}=${value}`).toContain(`${key} (${name}, from the environment)`);
      expect(err.context["keys"]).toEqual([key]);
    }
  });

  it("refuses a malformed override and says it came from overrides", () => {
    const err = configError(() => loadConfig(schema, { prefix, overrides: { listenPort: -1 } }));
    expect(err.message).toContain("listenPort (SHOAL_PEER_WORKER_LISTEN_PORT, from overrides)");
    expect(err.context["keys"]).toEqual(["listenPort"]);
  });

  it("names a required key that nobody set", () => {
    const required = z.object({ bucket: z.string(), region: z.string().default("eu") });
    const err = configError(() => loadConfig(required, { prefix: "store-s3", env: {} }));
    expect(err.message).toContain("bucket (SHOAL_STORE_S3_BUCKET, not set)");
    expect(err.context["keys"]).toEqual(["bucket"]);
  });

  it("reports every bad key at once, so one restart fixes them all", () => {
    const err = configError(() =>
      loadConfig(schema, {
        prefix,
        env: { SHOAL_PEER_WORKER_MAX_CONNECTIONS: "x", SHOAL_PEER_WORKER_LISTEN_PORT: "-1" },
        overrides: { logLevel: "loud" },
      }),
    );
    expect([...(err.context["keys"] as string[])].sort()).toEqual(["listenPort", "logLevel", "maxConnections"]);
  });

  it("refuses a variable under the service's prefix that names no key, so a typo is not silently ignored", () => {
    const err = configError(() =>
      loadConfig(schema, { prefix, env: { SHOAL_PEER_WORKER_MAX_CONECTIONS: "120", SHOAL_PEER_WORKER_LISTEN_PORT: "7000" } }),
    );
    expect(err.message).toContain("SHOAL_PEER_WORKER_MAX_CONECTIONS: not a config key of peer-worker");
    expect(err.message).toContain("SHOAL_PEER_WORKER_MAX_CONNECTIONS");
    expect(err.context["keys"]).toEqual(["SHOAL_PEER_WORKER_MAX_CONECTIONS"]);
  });

  it("refuses an override key the schema does not have", () => {
    const err = configError(() => loadConfig(schema, { prefix, overrides: { maxPeers: 30 } }));
    expect(err.message).toContain("maxPeers: override names no config key of peer-worker");
    expect(err.context["keys"]).toEqual(["maxPeers"]);
  });

  it("is not fooled by keys inherited from Object.prototype", () => {
    const err = configError(() => loadConfig(schema, { prefix, overrides: { toString: "x", constructor: 1 } }));
    expect([...(err.context["keys"] as string[])].sort()).toEqual(["constructor", "toString"]);
  });
});

describe("environment variable names", () => {
  it("keeps binary units one word", () => {
    expect(envNameOf("peer-worker", "maxBufferedMiB")).toBe("SHOAL_PEER_WORKER_MAX_BUFFERED_MIB");
    expect(envNameOf("s3", "partSizeMiB")).toBe("SHOAL_S3_PART_SIZE_MIB");
    expect(envNameOf("peer-worker", "maxConnections")).toBe("SHOAL_PEER_WORKER_MAX_CONNECTIONS");
    expect(envNameOf("", "natsUrl")).toBe("SHOAL_NATS_URL");
  });
});
