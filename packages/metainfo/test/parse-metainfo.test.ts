import { describe, expect, it } from "vitest";
import { DecodeError, encode } from "@shoal/bencode";
import type { Encodable } from "@shoal/bencode";
import { parseInfoDict, parseMetainfo, relativeFilePath } from "../src/index.js";
import {
  ascii,
  concat,
  expectMetainfoError,
  hex,
  MULTI_FILES,
  multiInfo,
  PIECE_LENGTH,
  piecesOf,
  rawDict,
  rawDictOf,
  sha1,
  SINGLE_DATA,
  singleInfo,
  torrent,
} from "./fixtures.js";

describe("parseMetainfo: single-file torrent", () => {
  const info = singleInfo();
  const bytes = torrent(info, { comment: "hello", "created by": "test 1.0", "creation date": 1_700_000_000 });
  const m = parseMetainfo(bytes);

  it("computes the info hash from the info dict bytes", () => {
    expect(m.infoBytes).toEqual(encode(info));
    expect(m.infoHash).toEqual(sha1(encode(info)));
    expect(m.infoHashHex).toBe(hex(sha1(encode(info))));
    expect(m.infoHashHex).toMatch(/^[0-9a-f]{40}$/);
  });

  it("reads the piece layout", () => {
    expect(m.name).toBe("single.bin");
    expect(m.pieceLength).toBe(PIECE_LENGTH);
    expect(m.pieceCount).toBe(3);
    expect(m.totalLength).toBe(40);
    expect(m.lastPieceLength).toBe(8);
    expect(m.pieceHashes).toEqual(piecesOf(SINGLE_DATA, PIECE_LENGTH));
    expect(m.multiFile).toBe(false);
    expect(m.files).toEqual([{ index: 0, path: [], length: 40, offset: 0, padding: false }]);
    expect(relativeFilePath(m, m.files[0]!)).toBe("single.bin");
  });

  it("reads the outer fields", () => {
    expect(m.announce).toBe("http://tracker.test/announce");
    expect(m.announceList).toEqual([["http://tracker.test/announce"]]);
    expect(m.urlList).toEqual([]);
    expect(m.private).toBe(false);
    expect(m.comment).toBe("hello");
    expect(m.createdBy).toBe("test 1.0");
    expect(m.creationDate).toBe(1_700_000_000);
  });

  it("does not alias the caller's buffer", () => {
    const input = torrent(singleInfo());
    const parsed = parseMetainfo(input);
    const hashes = parsed.pieceHashes.slice();
    input.fill(0);
    expect(parsed.pieceHashes).toEqual(hashes);
    expect(parsed.infoBytes).toEqual(encode(singleInfo()));
  });

  it("does not alias a Buffer input either (Buffer#slice is a view)", () => {
    const input = Buffer.from(torrent(singleInfo()));
    const parsed = parseMetainfo(input);
    input.fill(0);
    expect(parsed.infoBytes).toEqual(encode(singleInfo()));
    expect(parsed.pieceHashes.constructor).toBe(Uint8Array);
  });

  it("reads the BEP 27 private flag only from the integer 1", () => {
    expect(parseMetainfo(torrent(singleInfo({ private: 1 }))).private).toBe(true);
    expect(parseMetainfo(torrent(singleInfo({ private: 0 }))).private).toBe(false);
    expect(parseMetainfo(torrent(singleInfo({ private: "1" }))).private).toBe(false);
  });

  it("prefers name.utf-8 over name", () => {
    const parsed = parseMetainfo(torrent(singleInfo({ name: "x", "name.utf-8": "Ünïcode.bin" })));
    expect(parsed.name).toBe("Ünïcode.bin");
  });

  it("replaces invalid UTF-8 in names with U+FFFD", () => {
    const parsed = parseMetainfo(torrent(singleInfo({ name: Uint8Array.from([0x61, 0xff, 0x62]) })));
    expect(parsed.name).toBe("a\uFFFDb");
  });
});

describe("parseMetainfo: multi-file torrent", () => {
  const m = parseMetainfo(torrent(multiInfo()));

  it("lists files in stream order with offsets", () => {
    expect(m.multiFile).toBe(true);
    expect(m.totalLength).toBe(42);
    expect(m.files.map((f) => [f.path, f.length, f.offset])).toEqual([
      [["a.txt"], 10, 0],
      [["dir", "empty"], 0, 10],
      [["dir", "b.bin"], 25, 10],
      [["c"], 7, 35],
    ]);
    expect(m.files.map((f) => relativeFilePath(m, f))).toEqual(["multi/a.txt", "multi/dir/empty", "multi/dir/b.bin", "multi/c"]);
  });

  it("prefers path.utf-8 over path", () => {
    const files = [{ length: 42, path: ["raw"], "path.utf-8": ["ütf"] }];
    const parsed = parseMetainfo(torrent(multiInfo({ files })));
    expect(parsed.files[0]!.path).toEqual(["ütf"]);
  });
});

describe("parseMetainfo: trackers and web seeds", () => {
  it("cleans announce-list tiers (BEP 12): drops non-strings and empty tiers, dedupes", () => {
    const list = [["http://a/ann", 5, "http://b/ann"], [], ["http://a/ann"], "not a tier", [[]], ["  udp://c:80  ", ""]];
    const m = parseMetainfo(torrent(singleInfo(), { "announce-list": list }));
    expect(m.announceList).toEqual([["http://a/ann", "http://b/ann"], ["udp://c:80"]]);
    expect(m.announce).toBe("http://tracker.test/announce");
  });

  it("falls back to [[announce]] when announce-list has nothing usable", () => {
    const m = parseMetainfo(torrent(singleInfo(), { "announce-list": [[], [1]] }));
    expect(m.announceList).toEqual([["http://tracker.test/announce"]]);
  });

  it("has no tiers when there is no tracker at all (magnet-style DHT torrents)", () => {
    const m = parseMetainfo(encode({ info: singleInfo() }));
    expect(m.announce).toBeUndefined();
    expect(m.announceList).toEqual([]);
  });

  it("ignores an announce that is not a string", () => {
    const m = parseMetainfo(torrent(singleInfo(), { announce: 42 }));
    expect(m.announce).toBeUndefined();
  });

  it("reads url-list as a string or a list (BEP 19)", () => {
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": "http://seed/x" })).urlList).toEqual(["http://seed/x"]);
    const list = ["http://s1/", 3, "http://s2/", "http://s1/"];
    expect(parseMetainfo(torrent(singleInfo(), { "url-list": list })).urlList).toEqual(["http://s1/", "http://s2/"]);
  });

  it("ignores malformed display fields", () => {
    const m = parseMetainfo(torrent(singleInfo(), { comment: 1, "created by": [], "creation date": "yesterday" }));
    expect(m.comment).toBeUndefined();
    expect(m.createdBy).toBeUndefined();
    expect(m.creationDate).toBeUndefined();
  });
});

describe("parseMetainfo: hybrid v1+v2 torrents", () => {
  // libtorrent 2.0 aligns files to pieces with BEP 47 pad files, all named ".pad/<size>".
  const a = ascii("A".repeat(10));
  const b = ascii("B".repeat(16));
  const stream = concat(a, new Uint8Array(6), b, new Uint8Array(0));
  const info = {
    files: [
      { length: 10, path: ["a"] },
      { attr: "p", length: 6, path: [".pad", "6"] },
      { length: 16, path: ["b"] },
      { attr: "p", length: 0, path: [".pad", "6"] },
    ],
    "file tree": { a: { "": { length: 10, "pieces root": new Uint8Array(32) } } },
    "meta version": 2,
    name: "hybrid",
    "piece length": PIECE_LENGTH,
    pieces: piecesOf(stream, PIECE_LENGTH),
  };

  it("uses the v1 view and marks pad files", () => {
    const m = parseMetainfo(torrent(info, { "piece layers": {} }));
    expect(m.totalLength).toBe(32);
    expect(m.pieceCount).toBe(2);
    expect(m.files.map((f) => f.padding)).toEqual([false, true, false, true]);
    expect(m.files[2]!.offset).toBe(16);
  });

  it("refuses v2-only torrents with V2_ONLY", () => {
    const { pieces: _pieces, files: _files, ...v2only } = info;
    expectMetainfoError(() => parseMetainfo(torrent(v2only)), "V2_ONLY", "v2-only");
  });
});

describe("parseMetainfo: key order and duplicate keys", () => {
  it("accepts an unsorted top-level dict and hashes the raw info bytes", () => {
    const infoBytes = encode(singleInfo());
    const bytes = rawDictOf([
      ["info", infoBytes],
      ["announce", encode("http://x/ann")],
      ["comment", encode("unsorted outer dict")],
    ]);
    const m = parseMetainfo(bytes);
    expect(m.infoHash).toEqual(sha1(infoBytes));
    expect(m.announce).toBe("http://x/ann");
  });

  it("loads an info dict with keys out of order and hashes its raw bytes, not a re-encoding", () => {
    const info = singleInfo();
    const unsortedInfo = rawDict([
      ["piece length", info["piece length"]!],
      ["name", info["name"]!],
      ["length", info["length"]!],
      ["pieces", info["pieces"]!],
    ]);
    const m = parseMetainfo(rawDictOf([["info", unsortedInfo]]));
    expect(m.infoHash).toEqual(sha1(unsortedInfo));
    // The canonical encoding of the same dict is another torrent as far as the swarm knows.
    expect(m.infoHashHex).not.toBe(hex(sha1(encode(info))));
    expect(m.infoBytes).toEqual(unsortedInfo);
    expect(m.name).toBe("single.bin");
    expect(m.totalLength).toBe(SINGLE_DATA.length);
    expect(parseInfoDict(unsortedInfo).infoHashHex).toBe(m.infoHashHex);
  });

  it("loads file entries with keys out of order inside an unsorted info dict", () => {
    const info = multiInfo();
    const files = MULTI_FILES.map((f) => rawDict([["path", f.path], ["length", f.data.length]]));
    const unsortedInfo = rawDictOf([
      ["pieces", encode(info["pieces"]!)],
      ["name", encode(info["name"]!)],
      ["files", concat(ascii("l"), ...files, ascii("e"))],
      ["piece length", encode(info["piece length"]!)],
    ]);
    const m = parseMetainfo(rawDictOf([["info", unsortedInfo]]));
    expect(m.infoHash).toEqual(sha1(unsortedInfo));
    expect(m.files.map((f) => [f.path, f.length])).toEqual(MULTI_FILES.map((f) => [f.path, f.data.length]));
  });

  it("refuses duplicate keys in the info dict", () => {
    const info = singleInfo();
    const dup = rawDict([
      ["length", info["length"]!],
      ["name", "a"],
      ["name", "b"],
      ["piece length", info["piece length"]!],
      ["pieces", info["pieces"]!],
    ]);
    const err = expectMetainfoError(() => parseMetainfo(rawDictOf([["info", dup]])), "INVALID_BENCODE", 'duplicate dict key "name"');
    expect((err.cause as DecodeError).code).toBe("DUPLICATE_KEY");
    expectMetainfoError(() => parseInfoDict(dup), "INVALID_BENCODE", 'duplicate dict key "name"');
  });

  it("refuses duplicate keys in a file entry of an unsorted info dict", () => {
    const info = multiInfo();
    const entry = rawDict([["path", ["a"]], ["length", 42], ["path", ["b"]]]);
    const unsortedInfo = rawDictOf([
      ["pieces", encode(info["pieces"]!)],
      ["name", encode(info["name"]!)],
      ["files", concat(ascii("l"), entry, ascii("e"))],
      ["piece length", encode(info["piece length"]!)],
    ]);
    const err = expectMetainfoError(() => parseMetainfo(rawDictOf([["info", unsortedInfo]])), "INVALID_BENCODE", 'duplicate dict key "path"');
    expect((err.cause as DecodeError).code).toBe("DUPLICATE_KEY");
  });

  it("refuses duplicate keys in the outer dict", () => {
    const bytes = rawDictOf([
      ["announce", encode("http://a/")],
      ["info", encode(singleInfo())],
      ["announce", encode("http://b/")],
    ]);
    expectMetainfoError(() => parseMetainfo(bytes), "INVALID_BENCODE", 'duplicate dict key "announce"');
  });

  it("treats __proto__ keys as ordinary data, polluting nothing", () => {
    const polluting = { polluted: 1 };
    const info = new Map<string, Encodable>([...Object.entries(singleInfo()), ["__proto__", polluting]] as Array<[string, Encodable]>);
    const bytes = encode(
      new Map<string, Encodable>([
        ["__proto__", polluting],
        ["constructor", { prototype: polluting }],
        ["info", info],
      ]),
    );
    const m = parseMetainfo(bytes);
    expect(m.name).toBe("single.bin");
    expect(m.infoHash).toEqual(sha1(encode(info)));
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
  });
});

describe("parseInfoDict (BEP 9 metadata)", () => {
  it("parses raw info bytes alone and agrees with parseMetainfo", () => {
    const infoBytes = encode(multiInfo());
    const fromInfo = parseInfoDict(infoBytes);
    const fromTorrent = parseMetainfo(torrent(multiInfo()));
    expect(fromInfo.infoHashHex).toBe(fromTorrent.infoHashHex);
    expect(fromInfo.files).toEqual(fromTorrent.files);
    expect(fromInfo.files).toHaveLength(MULTI_FILES.length);
  });
});
