import { describe, expect, it } from "vitest";
import {
  asInt,
  asString,
  decode,
  fieldPath,
  getBytes,
  getDict,
  getInt,
  getList,
  getString,
  optBytes,
  optDict,
  optInt,
  optList,
  optString,
} from "../src/index.js";
import type { BDict } from "../src/index.js";
import { ascii, expectDecodeError, latin1 } from "./helpers.js";

const torrent = decode(
  ascii("d4:infod5:filesld6:lengthi5e4:pathl1:aeee4:name4:test12:piece lengthi-5eee"),
) as BDict;

describe("typed accessors", () => {
  it("read fields of the expected type", () => {
    const info = getDict(torrent, "info");
    expect(getString(info, "name", "info")).toBe("test");
    expect(getInt(info, "piece length", "info")).toBe(-5);
    const files = getList(info, "files", "info");
    expect(files).toHaveLength(1);
    expect(getBytes(info, "name", "info")).toEqual(ascii("test"));
  });

  it("name the full field path when a field is missing", () => {
    const info = getDict(torrent, "info");
    const err = expectDecodeError(() => getInt(info, "length", "info"), "MISSING_FIELD");
    expect(err.message).toBe("info.length: required field is missing");
    expect(err.context["field"]).toBe("info.length");
  });

  it("name the field path and both types on a type mismatch", () => {
    const info = getDict(torrent, "info");
    const err = expectDecodeError(() => getInt(info, "files", "info"), "WRONG_TYPE");
    expect(err.message).toBe("info.files: expected an integer, got a list");
    expectDecodeError(() => getDict(info, "name", "info"), "WRONG_TYPE");
    expectDecodeError(() => getList(info, "name", "info"), "WRONG_TYPE");
    expectDecodeError(() => getBytes(info, "files", "info"), "WRONG_TYPE");
    expectDecodeError(() => getString(info, "files", "info"), "WRONG_TYPE");
  });

  it("opt readers return undefined for absent fields but still check types", () => {
    const info = getDict(torrent, "info");
    expect(optInt(info, "length", "info")).toBeUndefined();
    expect(optDict(info, "nope")).toBeUndefined();
    expect(optList(info, "nope")).toBeUndefined();
    expect(optBytes(info, "nope")).toBeUndefined();
    expect(optString(info, "nope")).toBeUndefined();
    expectDecodeError(() => optInt(info, "name", "info"), "WRONG_TYPE");
  });

  it("refuse integers beyond the safe range instead of rounding them", () => {
    const err = expectDecodeError(() => asInt(2n ** 60n, "info.length"), "INTEGER_OUT_OF_RANGE");
    expect(err.message).toContain("info.length: integer 1152921504606846976");
  });

  it("reject invalid UTF-8 by default and replace it on request", () => {
    const bad = latin1("a\xffb");
    expectDecodeError(() => asString(bad, "comment"), "INVALID_UTF8");
    expect(asString(bad, "comment", { invalidUtf8: "replace" })).toBe("a\uFFFDb");
  });

  it("keep a leading byte-order mark as data", () => {
    expect(asString(latin1("\xef\xbb\xbfx"), "name")).toBe("\uFEFFx");
  });

  it("build paths for keys and list indices", () => {
    expect(fieldPath("", "info")).toBe("info");
    expect(fieldPath("info", "files")).toBe("info.files");
    expect(fieldPath("info.files", 3)).toBe("info.files[3]");
  });
});
