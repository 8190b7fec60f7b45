import { describe, expect, it } from "vitest";
import { parseCommandLine, UsageError, type GetArgs } from "../src/args.js";
import { parseFileSelection, parseRate } from "@shoal/runtime";

describe("--select LIST", () => {
  it("takes indices and inclusive ranges, sorted and without duplicates", () => {
    expect(parseFileSelection("0,3-5")).toEqual([0, 3, 4, 5]);
    expect(parseFileSelection("5, 1 ,1,2-2")).toEqual([1, 2, 5]);
    expect(parseFileSelection("7")).toEqual([7]);
  });

  it("refuses what is not a list of indices, naming the entry", () => {
    expect(() => parseFileSelection("")).toThrow(/empty entry/);
    expect(() => parseFileSelection("1,,2")).toThrow(/empty entry/);
    expect(() => parseFileSelection("a")).toThrow(/"a" is not a file index/);
    expect(() => parseFileSelection("-1")).toThrow(/"-1" is not a file index/);
    expect(() => parseFileSelection("5-3")).toThrow(/ends before it starts/);
    expect(() => parseFileSelection("1.5")).toThrow(/not a file index/);
    expect(() => parseFileSelection("0-99999999999")).toThrow(/more than/);
  });
});

describe("rates", () => {
  it("reads bytes per second with binary suffixes", () => {
    expect(parseRate("0")).toBe(0);
    expect(parseRate("1000")).toBe(1000);
    expect(parseRate("500K")).toBe(500 * 1024);
    expect(parseRate("4M")).toBe(4 * 1024 * 1024);
    expect(parseRate("4m")).toBe(4 * 1024 * 1024);
    expect(parseRate("4MiB")).toBe(4 * 1024 * 1024);
    expect(parseRate("1G")).toBe(1024 ** 3);
    expect(parseRate("1.5M")).toBe(1.5 * 1024 * 1024);
  });

  it("refuses anything else", () => {
    for (const bad of ["", "-1", "4X", "fast", "4 M M", "1e3"]) expect(() => parseRate(bad), bad).toThrow(/not a rate/);
  });
});

describe("the get and info command lines", () => {
  const get = (...extra: string[]) => parseCommandLine(["get", "t.torrent", "--out", "d", ...extra]) as GetArgs;

  it("passes selection, limits and seeding through", () => {
    const a = get("--select", "0,2-3", "--max-download-rate", "4M", "--max-upload-rate", "500K", "--seed-ratio", "1.5", "--seed-time", "60");
    expect(a.select).toEqual([0, 2, 3]);
    expect(a.maxDownloadRate).toBe(4 * 1024 * 1024);
    expect(a.maxUploadRate).toBe(500 * 1024);
    expect(a.seed).toEqual({ ratio: 1.5, seconds: 60 });
  });

  it("leaves what was not given undefined, so the environment's settings hold", () => {
    const a = get();
    expect(a.select).toBeUndefined();
    expect(a.maxDownloadRate).toBeUndefined();
    expect(a.maxUploadRate).toBeUndefined();
    expect(a.seed).toBeUndefined();
  });

  it("names the option in every refusal", () => {
    expect(() => get("--select", "x")).toThrow(/^--select: /);
    expect(() => get("--max-download-rate", "fast")).toThrow(/^--max-download-rate: /);
    expect(() => get("--seed-ratio", "-1")).toThrow(/--seed-ratio/);
    expect(() => get("--seed-time", "soon")).toThrow(/--seed-time/);
    expect(() => parseCommandLine(["info", "t.torrent", "--select", "1"])).toThrow(UsageError);
  });

  it("parses info with and without --json", () => {
    expect(parseCommandLine(["info", "t.torrent"])).toEqual({ command: "info", source: "t.torrent", json: false });
    expect(parseCommandLine(["info", "t.torrent", "--json"])).toEqual({ command: "info", source: "t.torrent", json: true });
    expect(() => parseCommandLine(["info"])).toThrow(/info needs a \.torrent file or URL/);
  });
});
