import { describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { parseInfoDict, parseMetainfo } from "../src/index.js";
import { ascii, concat, multiInfo, rawDict, rawDictOf, singleInfo } from "./fixtures.js";

// parseMetainfo decodes a .torrent once, lenient outside the info dict and strict inside it.
// These cases pin down that this reads exactly what decoding the info dict on its own reads.

describe("parseMetainfo in one pass", () => {
  it("gives the info dict parseInfoDict gives, and owns its bytes", () => {
    const info = encode(multiInfo());
    const file = concat(ascii("d8:announce"), encode("http://t/a"), ascii("4:info"), info, ascii("e"));
    const meta = parseMetainfo(file);
    const alone = parseInfoDict(info);
    expect(meta.infoHashHex).toBe(alone.infoHashHex);
    expect(meta.files).toEqual(alone.files);
    expect(Buffer.from(meta.infoBytes).equals(Buffer.from(info))).toBe(true);
    expect(Buffer.from(meta.pieceHashes).equals(Buffer.from(alone.pieceHashes))).toBe(true);
    // Nothing in the result aliases the caller's buffer.
    file.fill(0);
    expect(Buffer.from(meta.infoBytes).equals(Buffer.from(info))).toBe(true);
    expect(Buffer.from(meta.pieceHashes).equals(Buffer.from(alone.pieceHashes))).toBe(true);
  });

  it("accepts an outer dict with unsorted keys", () => {
    const bytes = rawDictOf([
      ["info", encode(singleInfo())],
      ["announce", encode("http://t/a")],
    ]);
    expect(parseMetainfo(bytes).announce).toBe("http://t/a");
  });

  it("loads a file dict inside the info dict whose keys are unsorted, as parseInfoDict does", () => {
    const info = multiInfo();
    const files = (info["files"] as { length: number; path: string[] }[]).map((f) => rawDict([["path", f.path], ["length", f.length]]));
    const unsorted = rawDictOf([
      ["files", concat(ascii("l"), ...files, ascii("e"))],
      ["name", encode(info["name"]!)],
      ["piece length", encode(info["piece length"]!)],
      ["pieces", encode(info["pieces"]!)],
    ]);
    const whole = parseMetainfo(rawDictOf([["info", unsorted]]));
    const alone = parseInfoDict(unsorted);
    expect(whole.infoHashHex).toBe(alone.infoHashHex);
    expect(whole.files).toEqual(alone.files);
  });
});
