import { createHash } from "node:crypto";
import fc from "fast-check";
import { decode, encode, type Encodable } from "@shoal/bencode";
import {
  DEFAULT_METAINFO_LIMITS,
  METAINFO_ERROR_CODES,
  MetainfoError,
  fileSpansOfPiece,
  parseInfoDict,
  parseMetainfo,
  pieceLengthOf,
  piecesOfFile,
  relativeFilePath,
  sanitizePathComponent,
  torrentLayout,
  type InfoDict,
  type Metainfo,
  type MetainfoLimits,
} from "@shoal/metainfo";
import { sample } from "../arbitraries.js";
import { Rng } from "../rng.js";
import { InvariantViolation, ascii, bytesEqual, check, concatBytes, outcome, type FuzzTarget } from "../target.js";

/** Limits small enough that mutated torrents cross each of them. */
const SMALL_LIMITS: MetainfoLimits = {
  maxPieces: 64,
  maxPieceLengthBytes: 1 << 20,
  maxFiles: 16,
  maxPathBytes: 64,
  maxTorrentBytes: 1 << 16,
  maxBencodeTokens: 2_000,
};

function documented(err: unknown): string | undefined {
  if (!(err instanceof MetainfoError) || !(METAINFO_ERROR_CODES as readonly string[]).includes(err.code)) return undefined;
  // The field in the label tells the pool apart torrents refused for different fields; indices
  // are blanked so a thousand files do not make a thousand outcomes.
  const field = typeof err.context["field"] === "string" ? err.context["field"].replace(/\[\d+\]/g, "[]") : "";
  return `${err.code}:${field}`;
}

/** What parseInfoDict promises about a torrent it accepted. */
function checkInfo(m: InfoDict, limits: MetainfoLimits = DEFAULT_METAINFO_LIMITS): string {
  let canonical: Uint8Array;
  try {
    canonical = encode(decode(m.infoBytes));
  } catch (err) {
    throw new InvariantViolation(`accepted info bytes are not canonical bencode: ${String(err)}`);
  }
  check(bytesEqual(canonical, m.infoBytes), "accepted info bytes do not re-encode to themselves");
  // No two written files on one path, and no file where another needs a directory.
  const paths = new Set<string>();
  const dirs = new Set<string>();
  for (const f of m.files) {
    if (f.padding) continue;
    const path = f.path.join("/");
    check(!paths.has(path) && !dirs.has(path), `two files land on ${JSON.stringify(path)}`);
    paths.add(path);
    for (let i = 1; i < f.path.length; i++) dirs.add(f.path.slice(0, i).join("/"));
    check(Buffer.byteLength(relativeFilePath(m, f)) <= limits.maxPathBytes, `path of file ${f.index} is over maxPathBytes`);
  }
  for (const dir of dirs) check(!paths.has(dir), `a file lands where ${JSON.stringify(dir)} must be a directory`);
  check(bytesEqual(m.infoHash, createHash("sha1").update(m.infoBytes).digest()), "infoHash is not the SHA-1 of infoBytes");
  check(m.infoHashHex === Buffer.from(m.infoHash).toString("hex"), "infoHashHex does not spell infoHash");
  check(Number.isSafeInteger(m.pieceLength) && m.pieceLength > 0, `piece length ${m.pieceLength}`);
  check(Number.isSafeInteger(m.totalLength) && m.totalLength > 0, `total length ${m.totalLength}`);
  check(m.pieceCount === Math.ceil(m.totalLength / m.pieceLength), "pieceCount does not cover totalLength");
  check(m.pieceHashes.length === m.pieceCount * 20, "pieceHashes is not 20 bytes per piece");
  check(m.lastPieceLength > 0 && m.lastPieceLength <= m.pieceLength, `last piece length ${m.lastPieceLength}`);
  check(sanitizePathComponent(m.name) === m.name, `name ${JSON.stringify(m.name)} is not a safe component`);
  let offset = 0;
  for (const [i, f] of m.files.entries()) {
    check(f.index === i && f.offset === offset && Number.isSafeInteger(f.length) && f.length >= 0, `file ${i} is out of order`);
    for (const c of f.path) check(sanitizePathComponent(c) === c, `file ${i} has an unsafe component ${JSON.stringify(c)}`);
    check(m.multiFile ? f.path.length > 0 : f.path.length === 0, `file ${i} path does not fit multiFile=${m.multiFile}`);
    const relative = relativeFilePath(m, f);
    check(!relative.startsWith("/") && !relative.split("/").includes(".."), `file ${i} lands at ${relative}`);
    const pieces = piecesOfFile(m, i);
    check(f.length === 0 ? pieces.first > pieces.last : pieces.first <= pieces.last && pieces.last < m.pieceCount, `pieces of file ${i}`);
    offset += f.length;
  }
  check(offset === m.totalLength, "file lengths do not add up to totalLength");
  for (const piece of new Set([0, m.pieceCount >> 1, m.pieceCount - 1])) {
    const spans = fileSpansOfPiece(m, piece);
    check(spans.reduce((n, s) => n + s.length, 0) === pieceLengthOf(m, piece), `spans of piece ${piece} do not cover it`);
  }
  torrentLayout(m);
  const pads = m.files.filter((f) => f.padding).length;
  return `${m.multiFile ? "multi" : "single"}${pads > 0 ? "+pad" : ""}${m.private ? "+private" : ""}`;
}

/** What parseMetainfo promises about the fields outside the info dict (BEP 12, 19). */
function checkOuter(m: Metainfo): void {
  const usable = (url: string) => url.length > 0 && url === url.trim();
  if (m.announce !== undefined) check(usable(m.announce), `announce ${JSON.stringify(m.announce)}`);
  const seen = new Set<string>();
  for (const tier of m.announceList) {
    check(tier.length > 0, "an empty announce tier");
    for (const url of tier) {
      check(usable(url) && !seen.has(url), `announce-list entry ${JSON.stringify(url)}`);
      seen.add(url);
    }
  }
  check(new Set(m.urlList).size === m.urlList.length && m.urlList.every(usable), "url-list has a repeated or blank entry");
  if (m.creationDate !== undefined) check(Number.isSafeInteger(m.creationDate) && m.creationDate >= 0, `creation date ${m.creationDate}`);
}

const PATH_COMPONENTS = ["a", "b.txt", "dir", "..", ".", "", "a/b", "a\\b", "C:", "con", "\u0000", "\u007f", "ü", "\ud800", ".pad", "x".repeat(70)];

/** Info dicts with realistic structure and adversarial details. */
const infoDict: fc.Arbitrary<Record<string, Encodable>> = fc
  .record({
    name: fc.oneof(fc.constantFrom(...PATH_COMPONENTS), fc.string({ maxLength: 12 })),
    pieceLength: fc.constantFrom(1, 16, 16384, 32768, 1 << 20, 0, -1, 2 ** 31),
    files: fc.option(
      fc.array(
        fc.record({
          length: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(-1, 2 ** 53 - 1)),
          path: fc.array(fc.oneof(fc.constantFrom(...PATH_COMPONENTS), fc.string({ maxLength: 6 })), { minLength: 0, maxLength: 4 }),
          pad: fc.boolean(),
        }),
        { maxLength: 8 },
      ),
      { nil: undefined },
    ),
    length: fc.integer({ min: 0, max: 1_000_000 }),
    hashSlack: fc.constantFrom(0, 0, 0, 1, -1, 7),
    private: fc.constantFrom(undefined, 0, 1, 2),
    utf8Name: fc.boolean(),
    v2: fc.boolean(),
  })
  .map((r) => {
    const lengths = r.files ? r.files.map((f) => Math.max(0, f.length)) : [r.length];
    const total = lengths.reduce((a, b) => a + b, 0);
    const pieces = r.pieceLength > 0 ? Math.min(2000, Math.ceil(total / r.pieceLength)) : 1;
    const info: Record<string, Encodable> = {
      name: r.name,
      "piece length": r.pieceLength,
      pieces: new Uint8Array(Math.max(0, pieces * 20 + r.hashSlack)),
    };
    if (r.files) {
      info["files"] = r.files.map((f) => ({ length: f.length, path: f.path, ...(f.pad ? { attr: "p" } : {}) }));
    } else {
      info["length"] = r.length;
    }
    if (r.private !== undefined) info["private"] = r.private;
    if (r.utf8Name) info["name.utf-8"] = r.name;
    if (r.v2) {
      info["meta version"] = 2;
      // bencode integers beyond 2^53 must be bigints; the sum of several huge lengths can get there.
      info["file tree"] = { [r.name]: { "": { length: BigInt(total), "pieces root": new Uint8Array(32) } } };
    }
    return info;
  });

const torrentFile: fc.Arbitrary<Uint8Array> = fc
  .record({
    info: infoDict,
    announce: fc.option(fc.constantFrom("http://t.test/announce", "udp://t.test:6969", " ", "\xff"), { nil: undefined }),
    tiers: fc.option(fc.array(fc.array(fc.constantFrom("http://a.test/x", "udp://b.test:1", "", "wss://c.test"), { maxLength: 3 }), { maxLength: 3 }), {
      nil: undefined,
    }),
    urlList: fc.option(fc.oneof(fc.constant("http://seed.test/f"), fc.array(fc.constantFrom("http://s.test/", "", "x"), { maxLength: 3 })), { nil: undefined }),
    comment: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    date: fc.option(fc.oneof(fc.integer(), fc.constant("yesterday")), { nil: undefined }),
  })
  .map((t) => {
    const outer: Record<string, Encodable> = { info: t.info };
    if (t.announce !== undefined) outer["announce"] = t.announce;
    if (t.tiers !== undefined) outer["announce-list"] = t.tiers;
    if (t.urlList !== undefined) outer["url-list"] = t.urlList;
    if (t.comment !== undefined) outer["comment"] = t.comment;
    if (t.date !== undefined) outer["creation date"] = t.date;
    return encode(outer);
  });

/** A hand-written outer dict with its keys in the given order (real tools write them unsorted). */
function rawDict(entries: Array<[string, Uint8Array]>): Uint8Array {
  return concatBytes([ascii("d"), ...entries.flatMap(([k, v]) => [encode(k), v]), ascii("e")]);
}

/**
 * parseMetainfo on the input (a .torrent), parseInfoDict on it (BEP 9 metadata), both again
 * under small limits. Whatever is accepted must satisfy what the package promises: the info
 * hash is the SHA-1 of the raw info bytes, pieces and files add up, every path component is
 * safe, and every piece maps onto file spans that cover it exactly.
 */
export const metainfoTarget: FuzzTarget = {
  name: "metainfo",
  description: "parseMetainfo and parseInfoDict (default and small limits), with layout invariants on success",
  bencode: true,
  maxInputBytes: 256 * 1024,
  dictionary: [
    "4:info",
    "6:pieces",
    "12:piece length",
    "4:name",
    "10:name.utf-8",
    "6:length",
    "5:files",
    "4:path",
    "10:path.utf-8",
    "4:attr",
    "1:p",
    "7:private",
    "8:announce",
    "13:announce-list",
    "8:url-list",
    "12:meta version",
    "9:file tree",
    "2:..",
    "1:.",
    "0:",
    "i0e",
    "i-1e",
    "le",
    "de",
  ].map(ascii),
  seeds() {
    const single = { length: 40, name: "a.bin", "piece length": 16, pieces: new Uint8Array(60) };
    const multi = {
      files: [
        { length: 10, path: ["a.txt"] },
        { length: 0, path: ["dir", "empty"] },
        { length: 6, attr: "p", path: [".pad", "6"] },
        { length: 25, path: ["dir", "b.bin"] },
      ],
      name: "multi",
      "piece length": 16,
      pieces: new Uint8Array(60),
    };
    return [
      encode({ announce: "http://t.test/announce", info: single }),
      encode({ "announce-list": [["http://a.test/ann", "udp://b.test:80"], ["http://c.test/"]], info: multi, "url-list": "http://seed.test/" }),
      rawDict([
        ["info", encode({ ...single, private: 1, "name.utf-8": "ü.bin" })],
        ["announce", encode("udp://t.test:6969/announce")],
        ["comment", encode("unsorted outer dict")],
      ]),
      encode({ info: { ...multi, "meta version": 2, "file tree": { multi: { "": { length: 41 } } } } }),
      encode({ info: { "file tree": {}, "meta version": 2, name: "v2", "piece length": 16384 } }),
      encode(single),
      encode(multi),
    ];
  },
  generate(seed, count) {
    const rng = new Rng(seed);
    return sample(torrentFile, seed, count).map((bytes) => {
      // Some inputs are bare info dicts, as BEP 9 metadata arrives.
      if (!rng.chance(0.2)) return bytes;
      const start = Buffer.from(bytes).indexOf("4:infod");
      return start < 0 ? bytes : bytes.subarray(start + 6, bytes.length - 1);
    });
  },
  run(input) {
    const full = outcome(() => {
      // Parsed from a private copy that is wiped afterwards: the result must not alias its input.
      const copy = input.slice();
      const m = parseMetainfo(copy);
      const hashes = m.pieceHashes.slice();
      copy.fill(0);
      check(bytesEqual(hashes, m.pieceHashes), "the parsed torrent changes when its input buffer does");
      checkOuter(m);
      return checkInfo(m);
    }, documented);
    const info = outcome(() => checkInfo(parseInfoDict(input)), documented);
    const small = outcome(() => checkInfo(parseMetainfo(input, SMALL_LIMITS), SMALL_LIMITS), documented);
    outcome(() => checkInfo(parseInfoDict(input, SMALL_LIMITS), SMALL_LIMITS), documented);
    return `${full}|${info}|${small}`;
  },
};
