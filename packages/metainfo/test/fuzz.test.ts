import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError, encode } from "@shoal/bencode";
import type { BValue, Encodable } from "@shoal/bencode";
import { MetainfoError, parseInfoDict, parseMetainfo } from "../src/index.js";
import { multiInfo, singleInfo, torrent } from "./fixtures.js";

/** Parses; a MetainfoError or DecodeError is an accepted outcome, any other exception fails. */
function parseOrRefuse(bytes: Uint8Array, which: "torrent" | "info" = "torrent"): boolean {
  try {
    if (which === "torrent") parseMetainfo(bytes);
    else parseInfoDict(bytes);
    return true;
  } catch (err) {
    if (err instanceof MetainfoError || err instanceof DecodeError) return false;
    throw err;
  }
}

const anyValue: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.integer({ min: -3, max: 100 }),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.uint8Array({ maxLength: 45 }),
    fc.constantFrom(new TextEncoder().encode(".."), new TextEncoder().encode("a"), new TextEncoder().encode("p")),
    fc.array(tie("v"), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(fc.constantFrom("length", "path", "attr", "name", "files", "pieces", "x"), tie("v")), {
        selector: (e) => e[0],
        maxLength: 4,
      })
      .map((entries) => new Map(entries.sort((a, b) => (a[0] < b[0] ? -1 : 1)))),
  ),
})).v;

/** Info dicts built from the real field names with random (often wrong) values. */
const infoKeys = ["files", "length", "meta version", "name", "name.utf-8", "piece length", "pieces", "private", "file tree"];
const structuredInfo = fc
  .tuple(fc.boolean(), fc.dictionary(fc.constantFrom(...infoKeys), anyValue, { maxKeys: 5 }))
  .map(([multi, overrides]) => (multi ? multiInfo(overrides as Record<string, Encodable>) : singleInfo(overrides as Record<string, Encodable>)));

/** A valid torrent with a few bytes overwritten, to reach the checks past the decoder. */
const mutatedTorrent = fc
  .tuple(fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
  .map(([multi, edits]) => {
    const bytes = torrent(multi ? multiInfo() : singleInfo());
    for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
    return bytes;
  });

describe("parseMetainfo fuzz", () => {
  it("arbitrary bytes give a Metainfo or a MetainfoError/DecodeError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        parseOrRefuse(bytes);
        parseOrRefuse(bytes, "info");
      }),
      { numRuns: 3000 },
    );
  });

  it("mutated valid torrents give a Metainfo or a MetainfoError/DecodeError", () => {
    fc.assert(fc.property(mutatedTorrent, (bytes) => void parseOrRefuse(bytes)), { numRuns: 3000 });
  });

  it("info dicts with random field values give a Metainfo or a MetainfoError/DecodeError", () => {
    let parsed = 0;
    fc.assert(
      fc.property(structuredInfo, anyValue, (info, extra) => {
        if (parseOrRefuse(torrent(info, { "announce-list": extra, "url-list": extra }))) parsed += 1;
        parseOrRefuse(encode(info), "info");
      }),
      { numRuns: 3000 },
    );
    expect(parsed).toBeGreaterThan(0);
  });
});
