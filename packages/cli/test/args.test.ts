import { describe, expect, it } from "vitest";
import { parseCommandLine, UsageError } from "../src/args.js";

describe("command line of get, verify and info", () => {
  it("get takes a bucket destination and an --s3 endpoint", () => {
    expect(parseCommandLine(["get", "t.torrent", "--out", "s3://b/p", "--s3", "http://127.0.0.1:9000"])).toMatchObject({
      command: "get",
      out: "s3://b/p",
      s3: "http://127.0.0.1:9000",
    });
    expect(parseCommandLine(["get", "t.torrent", "-o", "dl"])).toMatchObject({ command: "get", out: "dl", s3: undefined });
  });

  it("verify takes --in, --select, --json and --s3", () => {
    expect(parseCommandLine(["verify", "t.torrent", "--in", "s3://b/p", "--select", "0,2-3", "--json", "--s3", "http://h:1"])).toEqual({
      command: "verify",
      source: "t.torrent",
      in: "s3://b/p",
      s3: "http://h:1",
      select: [0, 2, 3],
      json: true,
    });
    expect(parseCommandLine(["verify", "https://x/t.torrent", "--in", "./dl"])).toEqual({
      command: "verify",
      source: "https://x/t.torrent",
      in: "./dl",
      s3: undefined,
      select: undefined,
      json: false,
    });
  });

  it("get takes --encryption prefer, require or disable; absent leaves it to SHOAL_ENCRYPTION", () => {
    for (const policy of ["prefer", "require", "disable"]) {
      expect(parseCommandLine(["get", "t.torrent", "-o", "dl", "--encryption", policy])).toMatchObject({ encryption: policy });
    }
    expect(parseCommandLine(["get", "t.torrent", "-o", "dl"])).toMatchObject({ encryption: undefined });
  });

  const refused: [string[], RegExp][] = [
    [["verify", "t.torrent"], /--in DIR or --in s3:\/\/BUCKET\/PREFIX is required/],
    [["verify", "t.torrent", "--in", " "], /--in DIR or --in s3:\/\/BUCKET\/PREFIX is required/],
    [["verify", "t.torrent", "--in", "d", "--out", "x"], /--out is an option of get, not of verify/],
    [["verify", "t.torrent", "--in", "d", "--max-download-rate", "1M"], /--max-download-rate is an option of get, not of verify/],
    [["get", "t.torrent", "--out", "d", "--in", "x"], /--in is an option of verify, not of get/],
    [["info", "t.torrent", "--s3", "http://h:1"], /--s3 is an option of get, not of info/],
    [["info", "t.torrent", "--select", "1"], /--select is an option of get, not of info/],
    [["verify", "t.torrent", "--in", "d", "--select", "2-1"], /--select: range "2-1" ends before it starts/],
    [["verify"], /verify needs a \.torrent file or URL/],
    [["get", "t.torrent"], /--out DIR is required/],
    [["get", "t.torrent", "-o", "d", "--encryption", "rc4"], /--encryption must be one of prefer, require, disable, got "rc4"/],
    [["verify", "t.torrent", "--in", "d", "--encryption", "require"], /--encryption is an option of get, not of verify/],
  ];
  for (const [argv, message] of refused) {
    it(`refuses ${argv.join(" ")}`, () => {
      expect(() => parseCommandLine(argv)).toThrow(UsageError);
      expect(() => parseCommandLine(argv)).toThrow(message);
    });
  }
});
