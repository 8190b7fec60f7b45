import { describe, expect, it } from "vitest";
import { DecodeError, encode } from "@shoal/bencode";
import type { Encodable } from "@shoal/bencode";
import { parseMetainfo } from "../src/index.js";
import type { MetainfoErrorCode, MetainfoLimits } from "../src/index.js";
import { ascii, concat, expectMetainfoError, multiInfo, piecesOf, singleInfo, torrent } from "./fixtures.js";

type Case = [name: string, bytes: () => Uint8Array, code: MetainfoErrorCode, message: string, limits?: Partial<MetainfoLimits>];

/** A multi-file torrent whose files list is `files`, with pieces that match their total length. */
function withFiles(files: Encodable[]): Uint8Array {
  const total = files.reduce<number>((n, f) => {
    const length = f instanceof Map ? undefined : (f as { length?: unknown }).length;
    return n + (typeof length === "number" && length > 0 ? length : 0);
  }, 0);
  return torrent(multiInfo({ files, pieces: piecesOf(new Uint8Array(total), 16) }));
}

const file = (path: Encodable, length = 4): Encodable => ({ length, path });

const CASES: Case[] = [
  // The document itself.
  ["truncated bencode", () => torrent(singleInfo()).subarray(0, 30), "INVALID_BENCODE", "runs past the end of input (30 bytes) at byte 11"],
  ["trailing garbage", () => concat(torrent(singleInfo()), ascii("\n")), "INVALID_BENCODE", "trailing data"],
  ["missing info", () => encode({ announce: "http://a/" }), "MISSING_FIELD", "info: required field is missing"],
  ["info is a string", () => torrent("info"), "INVALID_FIELD", "info: expected a dict"],
  ["file over maxTorrentBytes", () => torrent(singleInfo()), "TOO_LARGE", "torrent: file is", { maxTorrentBytes: 50 }],
  ["too many tokens", () => torrent(multiInfo()), "INVALID_BENCODE", "more than 10 tokens", { maxBencodeTokens: 10 }],
  // name
  ["missing name", () => torrent(singleInfo({ name: undefined })), "MISSING_FIELD", "info.name: required field is missing"],
  ["name is an integer", () => torrent(singleInfo({ name: 5 })), "INVALID_FIELD", "info.name: expected a byte string, got an integer"],
  ["name.utf-8 is a list", () => torrent(singleInfo({ "name.utf-8": [] })), "INVALID_FIELD", "info.name.utf-8: expected a byte string, got a list"],
  // piece length
  ["missing piece length", () => torrent(singleInfo({ "piece length": undefined })), "MISSING_FIELD", "info.piece length: required field is missing"],
  ["negative piece length", () => torrent(singleInfo({ "piece length": -5 })), "INVALID_FIELD", "info.piece length: expected a positive integer, got -5"],
  ["zero piece length", () => torrent(singleInfo({ "piece length": 0 })), "INVALID_FIELD", "info.piece length: expected a positive integer, got 0"],
  ["huge negative piece length", () => torrent(singleInfo({ "piece length": -(2n ** 70n) })), "INVALID_FIELD", "expected a positive integer, got -1180591620717411303424"],
  ["piece length is a string", () => torrent(singleInfo({ "piece length": "16" })), "INVALID_FIELD", "info.piece length: expected an integer, got a byte string"],
  ["piece length over the limit", () => torrent(singleInfo({ "piece length": 2 ** 29 })), "PIECE_LENGTH_TOO_LARGE", "info.piece length: 536870912 bytes, over the limit of 268435456"],
  ["piece length beyond 2^53", () => torrent(singleInfo({ "piece length": 2n ** 64n })), "PIECE_LENGTH_TOO_LARGE", "info.piece length:"],
  // pieces
  ["missing pieces", () => torrent(singleInfo({ pieces: undefined })), "MISSING_FIELD", "info.pieces: required field is missing"],
  ["pieces is a list", () => torrent(singleInfo({ pieces: [] })), "INVALID_FIELD", "info.pieces: expected a byte string, got a list"],
  ["pieces not a multiple of 20", () => torrent(singleInfo({ pieces: new Uint8Array(61) })), "PIECES_LENGTH_MISMATCH", "info.pieces: length 61 is not a multiple of 20"],
  ["too few piece hashes", () => torrent(singleInfo({ pieces: new Uint8Array(40) })), "PIECES_LENGTH_MISMATCH", "info.pieces: has 2 hashes, but 40 bytes at piece length 16 make 3 pieces"],
  ["too many piece hashes", () => torrent(singleInfo({ pieces: new Uint8Array(80) })), "PIECES_LENGTH_MISMATCH", "has 4 hashes"],
  ["more pieces than maxPieces", () => torrent(singleInfo()), "TOO_MANY_PIECES", "info.pieces: 3 pieces, over the limit of 2", { maxPieces: 2 }],
  // length / files
  ["both length and files", () => torrent(singleInfo({ files: [file(["a"])] })), "INVALID_FIELD", "info: has both 'length' (single-file) and 'files' (multi-file)"],
  ["neither length nor files", () => torrent(singleInfo({ length: undefined })), "MISSING_FIELD", "info: needs either 'length'"],
  ["negative length", () => torrent(singleInfo({ length: -1 })), "INVALID_FIELD", "info.length: expected a non-negative integer, got -1"],
  ["length is a string", () => torrent(singleInfo({ length: "40" })), "INVALID_FIELD", "info.length: expected an integer, got a byte string"],
  ["length beyond 2^53", () => torrent(singleInfo({ length: 2n ** 60n })), "TOO_LARGE", "info.length: 1152921504606846976 bytes is beyond 2^53-1"],
  ["zero length", () => torrent(singleInfo({ length: 0, pieces: new Uint8Array(0) })), "EMPTY_TORRENT", "info: torrent has no data"],
  ["empty files list", () => withFiles([]), "EMPTY_TORRENT", "torrent has no data"],
  ["only empty files", () => withFiles([file(["a"], 0)]), "EMPTY_TORRENT", "torrent has no data"],
  ["files is a dict", () => torrent(multiInfo({ files: {} })), "INVALID_FIELD", "info.files: expected a list, got a dict"],
  ["file entry is an integer", () => withFiles([file(["a"]), 7]), "INVALID_FIELD", "info.files[1]: expected a dict, got an integer"],
  ["file without length", () => withFiles([{ path: ["a"] }]), "MISSING_FIELD", "info.files[0].length: required field is missing"],
  ["file with negative length", () => withFiles([file(["a"]), file(["b"], -4)]), "INVALID_FIELD", "info.files[1].length: expected a non-negative integer, got -4"],
  ["file without path", () => withFiles([{ length: 4 }]), "MISSING_FIELD", "info.files[0].path: required field is missing"],
  ["path is a string", () => withFiles([file("a/b")]), "INVALID_FIELD", "info.files[0].path: expected a list, got a byte string"],
  ["path component is an integer", () => withFiles([file(["a", 1])]), "INVALID_FIELD", "info.files[0].path[1]: expected a byte string, got an integer"],
  ["attr is a list", () => withFiles([{ attr: [], length: 4, path: ["a"] }]), "INVALID_FIELD", "info.files[0].attr: expected a byte string, got a list"],
  ["total length past 2^53", () => torrent(multiInfo({ files: [file(["a"], 2 ** 52), file(["b"], 2 ** 52), file(["c"], 2 ** 52)], pieces: new Uint8Array(20) })), "TOO_LARGE", "info.files: total length passes 2^53-1 bytes at info.files[1]"],
  ["more files than maxFiles", () => withFiles([file(["a"]), file(["b"])]), "TOO_MANY_FILES", "info.files: 2 files, over the limit of 1", { maxFiles: 1 }],
  ["path longer than maxPathBytes", () => withFiles([file(["a".repeat(20), "b".repeat(20)])]), "PATH_TOO_LONG", "info.files[0].path: path is 47 bytes after sanitising (name included), over the limit of 40; it cannot be shortened without changing the torrent's directory tree", { maxPathBytes: 40 }],
  // v2
  ["v2-only (meta version 2, no pieces)", () => torrent(singleInfo({ pieces: undefined, "meta version": 2, "file tree": {} })), "V2_ONLY", "info: this is a BitTorrent v2-only torrent"],
];

describe("parseMetainfo refuses malformed torrents, naming the field", () => {
  for (const [name, bytes, code, message, limits] of CASES) {
    it(`${name} -> ${code}`, () => {
      const err = expectMetainfoError(() => parseMetainfo(bytes(), limits), code, message);
      expect(err.message).toMatch(/^(torrent|info)[^:]*: /);
    });
  }

  it("says a file that does not open with a bencoded dict is not a torrent, without a byte offset", () => {
    const others: Array<[what: string, bytes: Uint8Array]> = [
      ["empty file", new Uint8Array(0)],
      ["text", ascii("hello world")],
      ["text starting with d", ascii("dear diary")],
      ["a lone d", ascii("d")],
      ["HTML", ascii("<!DOCTYPE html><html></html>")],
      ["PNG", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
      ["bencoded list", encode([singleInfo()])],
      ["bencoded integer", ascii("i42e")],
      ["bencoded string", ascii("4:spam")],
      ["dict with an integer key", ascii("di1ei2ee")],
    ];
    for (const [what, bytes] of others) {
      const err = expectMetainfoError(() => parseMetainfo(bytes), "NOT_A_TORRENT");
      expect(err.message, what).toBe("not a .torrent file (expected a bencoded dictionary)");
      expect(err.context["field"]).toBe("torrent");
    }
  });

  it("keeps the byte offset for a file that opens like a dict and breaks later", () => {
    expectMetainfoError(() => parseMetainfo(ascii("de")), "MISSING_FIELD", "info: required field is missing");
    expectMetainfoError(() => parseMetainfo(ascii("d8:announce")), "INVALID_BENCODE", "at byte 11");
  });

  it("keeps the DecodeError (with its byte offset) as the cause of INVALID_BENCODE", () => {
    const err = expectMetainfoError(() => parseMetainfo(ascii("d4:infoi03ee")), "INVALID_BENCODE");
    expect(err.message).toBe("torrent: leading zero in integer at byte 7");
    expect(err.cause).toBeInstanceOf(DecodeError);
    expect(err.context["offset"]).toBe(7);
  });

  it("measures maxPathBytes after sanitising and renaming", () => {
    // "multi/" is 6 bytes; "a:b" becomes "a_b" (3 bytes) and its duplicate "a_b.1" (5 bytes).
    expect(() => parseMetainfo(withFiles([file(["..", "a:b"]), file(["a/b"])]), { maxPathBytes: 11 })).not.toThrow();
    expectMetainfoError(() => parseMetainfo(withFiles([file(["a:b"]), file(["a/b"])]), { maxPathBytes: 10 }), "PATH_TOO_LONG", "info.files[1].path: path is 11 bytes");
  });

  it("allows pad files to share a path and to sit under real directories", () => {
    const files = [
      file(["a"]),
      { attr: "p", length: 4, path: [".pad", "4"] },
      file(["b"]),
      { attr: "p", length: 4, path: [".pad", "4"] },
      { attr: "xp", length: 4, path: ["a", "pad"] },
    ];
    const m = parseMetainfo(withFiles(files));
    expect(m.files.filter((f) => f.padding)).toHaveLength(3);
  });

  it("counts UTF-8 bytes, not chars, against maxPathBytes", () => {
    // "multi" (5) + "/" + 10 two-byte chars (20) = 26 bytes for 16 chars.
    expect(() => parseMetainfo(withFiles([file(["é".repeat(10)])]), { maxPathBytes: 26 })).not.toThrow();
    expectMetainfoError(() => parseMetainfo(withFiles([file(["é".repeat(10)])]), { maxPathBytes: 25 }), "PATH_TOO_LONG");
  });
});
