import { describe, expect, it } from "vitest";
import { ConfigError } from "@shoal/service-kit";
import { parseS3StoreConfig } from "../src/index.js";

const base = { endpoint: "http://127.0.0.1:9000", accessKey: "a", secretKey: "s", bucket: "bkt" };

describe("parseS3StoreConfig", () => {
  it("fills the documented defaults and trims the prefix's slashes", () => {
    expect(parseS3StoreConfig({ ...base, prefix: "/downloads/shoal/" })).toEqual({
      ...base,
      region: "us-east-1",
      prefix: "downloads/shoal",
      partSizeMiB: 16,
      smallObjectMiB: 5,
      maxConcurrentUploads: 4,
      fillBufferMiB: 64,
      retries: 8,
      retryBaseMs: 250,
      retryMaxMs: 10_000,
      requestTimeoutMs: 60_000,
      checksum: "auto",
      listingFreshMs: 10_000,
    });
  });

  it("names each bad key with its environment variable", () => {
    const bad = { ...base, partSizeMiB: 4, smallObjectMiB: 1, endpoint: "http://host:9000/s3" };
    let caught: unknown;
    try {
      parseS3StoreConfig(bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    for (const key of ["partSizeMiB (SHOAL_S3_PART_SIZE_MIB", "smallObjectMiB", "endpoint"]) expect(message).toContain(key);
  });
});
