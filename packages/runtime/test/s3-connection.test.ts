import { describe, expect, it } from "vitest";
import { ConfigError } from "@shoal/service-kit";
import { s3ConnectionFrom } from "../src/index.js";

const KEYS = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret" };

describe("s3ConnectionFrom", () => {
  it("takes the endpoint from the flag first, whatever the environment says", () => {
    const env = { ...KEYS, SHOAL_S3_ENDPOINT: "http://shoal:1", AWS_ENDPOINT_URL_S3: "http://s3:2", AWS_ENDPOINT_URL: "http://any:3" };
    expect(s3ConnectionFrom("http://flag:9000", env, true)).toEqual({ endpoint: "http://flag:9000", accessKey: "AKID", secretKey: "secret", region: "us-east-1" });
  });

  it("then SHOAL_S3_ENDPOINT, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL", () => {
    const all = { ...KEYS, SHOAL_S3_ENDPOINT: "http://shoal:1", AWS_ENDPOINT_URL_S3: "http://s3:2", AWS_ENDPOINT_URL: "http://any:3" };
    expect(s3ConnectionFrom(undefined, all, true)?.endpoint).toBe("http://shoal:1");
    expect(s3ConnectionFrom(undefined, { ...all, SHOAL_S3_ENDPOINT: undefined }, true)?.endpoint).toBe("http://s3:2");
    expect(s3ConnectionFrom(undefined, { ...KEYS, AWS_ENDPOINT_URL: "http://any:3" }, true)?.endpoint).toBe("http://any:3");
  });

  it("counts blank values as unset", () => {
    const env = { ...KEYS, SHOAL_S3_ENDPOINT: "  ", AWS_ENDPOINT_URL_S3: "", AWS_ENDPOINT_URL: "http://any:3" };
    expect(s3ConnectionFrom("", env, true)?.endpoint).toBe("http://any:3");
  });

  it("keeps only scheme, host and port; https and default ports work", () => {
    expect(s3ConnectionFrom("https://s3.example.org/", KEYS, true)?.endpoint).toBe("https://s3.example.org");
    expect(s3ConnectionFrom(" http://127.0.0.1:9000 ", KEYS, true)?.endpoint).toBe("http://127.0.0.1:9000");
  });

  it("takes the region from AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1", () => {
    expect(s3ConnectionFrom("http://h:1", { ...KEYS, AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "ap-south-1" }, true)?.region).toBe("eu-west-1");
    expect(s3ConnectionFrom("http://h:1", { ...KEYS, AWS_DEFAULT_REGION: "ap-south-1" }, true)?.region).toBe("ap-south-1");
    expect(s3ConnectionFrom("http://h:1", KEYS, true)?.region).toBe("us-east-1");
  });

  it("is undefined without an endpoint when not required, and names every way to set one when required", () => {
    expect(s3ConnectionFrom(undefined, KEYS, false)).toBeUndefined();
    expect(() => s3ConnectionFrom(undefined, KEYS, true)).toThrow(ConfigError);
    expect(() => s3ConnectionFrom(undefined, KEYS, true)).toThrow("S3 endpoint missing: set --s3 URL or SHOAL_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)");
  });

  it("names the missing key", () => {
    expect(() => s3ConnectionFrom("http://h:1", { AWS_SECRET_ACCESS_KEY: "s" }, true)).toThrow(/^AWS_ACCESS_KEY_ID is not set/);
    expect(() => s3ConnectionFrom("http://h:1", { AWS_ACCESS_KEY_ID: "a" }, true)).toThrow(/^AWS_SECRET_ACCESS_KEY is not set/);
    expect(() => s3ConnectionFrom("http://h:1", { AWS_ACCESS_KEY_ID: " ", AWS_SECRET_ACCESS_KEY: "s" }, true)).toThrow(/AWS_ACCESS_KEY_ID/);
    // Keys are checked even when an endpoint is optional but given.
    expect(() => s3ConnectionFrom(undefined, { SHOAL_S3_ENDPOINT: "http://h:1" }, false)).toThrow(/AWS_ACCESS_KEY_ID/);
  });

  it("names where a bad endpoint came from and what is wrong with it", () => {
    expect(() => s3ConnectionFrom("localhost:9000", KEYS, true)).toThrow(/^--s3: "localhost:9000" must be http:\/\/ or https:\/\//);
    expect(() => s3ConnectionFrom(undefined, { ...KEYS, SHOAL_S3_ENDPOINT: "not a url" }, true)).toThrow('SHOAL_S3_ENDPOINT: "not a url" is not a URL');
    expect(() => s3ConnectionFrom(undefined, { ...KEYS, AWS_ENDPOINT_URL_S3: "ftp://h" }, true)).toThrow('AWS_ENDPOINT_URL_S3: "ftp://h" must be http:// or https://');
    expect(() => s3ConnectionFrom("http://h:1/bucket", KEYS, true)).toThrow(/must have no path or query/);
    expect(() => s3ConnectionFrom("http://h:1/?x=1", KEYS, true)).toThrow(/must have no path or query/);
  });
});
