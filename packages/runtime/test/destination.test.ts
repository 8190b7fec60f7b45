import { describe, expect, it } from "vitest";
import { ConfigError } from "@shoal/service-kit";
import { formatDestination, parseDestination } from "../src/index.js";

describe("parseDestination", () => {
  it("reads a bucket with a prefix, dropping slashes at either end", () => {
    expect(parseDestination("s3://my-bucket/torrents/linux")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "torrents/linux" });
    expect(parseDestination("s3://my-bucket//torrents/linux//")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "torrents/linux" });
    expect(parseDestination("  s3://my-bucket/a  ")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "a" });
  });

  it("reads a bucket without a prefix, with or without the slash", () => {
    expect(parseDestination("s3://my-bucket")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "" });
    expect(parseDestination("s3://my-bucket/")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "" });
  });

  it("takes the scheme in any case and dotted bucket names", () => {
    expect(parseDestination("S3://logs.example.org/x")).toEqual({ kind: "s3", bucket: "logs.example.org", prefix: "x" });
  });

  const badBuckets: [string, string][] = [
    ["s3://My-Bucket/x", "upper case"],
    ["s3://ab/x", "too short"],
    [`s3://${"a".repeat(64)}/x`, "too long"],
    ["s3://bad_bucket/x", "underscore"],
    ["s3://-bucket/x", "leading hyphen"],
    ["s3://bucket-/x", "trailing hyphen"],
    ["s3://a..b/x", "two dots in a row"],
    ["s3:///prefix", "empty"],
  ];
  for (const [raw, why] of badBuckets) {
    it(`refuses a bucket name that is ${why}, naming it`, () => {
      const bucket = raw.slice(5).split("/")[0]!;
      expect(() => parseDestination(raw)).toThrow(ConfigError);
      expect(() => parseDestination(raw)).toThrow(`"${bucket}" is not a valid bucket name`);
    });
  }

  it('refuses "." and ".." in the prefix', () => {
    expect(() => parseDestination("s3://bucket/a/../b")).toThrow(/may not contain "\." or "\.\." components/);
    expect(() => parseDestination("s3://bucket/./b")).toThrow(ConfigError);
  });

  it("refuses other URL schemes, naming the scheme", () => {
    for (const [raw, scheme] of [
      ["gs://bucket/x", "gs:"],
      ["http://example.org/x", "http:"],
      ["file:///tmp/x", "file:"],
      ["S4://bucket", "S4:"],
    ] as const) {
      expect(() => parseDestination(raw)).toThrow(`unsupported scheme "${scheme}"`);
    }
  });

  it("refuses an empty destination", () => {
    expect(() => parseDestination("   ")).toThrow(/destination is empty/);
  });

  it("makes a relative directory absolute against the working directory", () => {
    expect(parseDestination("downloads", "/home/u")).toEqual({ kind: "dir", path: "/home/u/downloads" });
    expect(parseDestination("./a/../b", "/home/u")).toEqual({ kind: "dir", path: "/home/u/b" });
    expect(parseDestination("/srv/data/", "/home/u")).toEqual({ kind: "dir", path: "/srv/data" });
    // A colon without "//" is a file name, not a scheme.
    expect(parseDestination("s3:bucket", "/home/u")).toEqual({ kind: "dir", path: "/home/u/s3:bucket" });
  });

  it("formats a destination back to its canonical text", () => {
    expect(formatDestination(parseDestination("s3://b-1/p//q/"))).toBe("s3://b-1/p/q");
    expect(formatDestination(parseDestination("s3://b-1"))).toBe("s3://b-1");
    expect(formatDestination(parseDestination("out", "/w"))).toBe("/w/out");
  });
});
