import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import type { Encodable } from "@shoal/bencode";
import { parseMetainfo, relativeFilePath, sanitizePathComponent } from "../src/index.js";
import type { Metainfo } from "../src/index.js";
import { piecesOf } from "./fixtures.js";

const OUT_POSIX = "/srv/out";
const OUT_WIN32 = "C:\\out";
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const bytesOf = (text: string): number => Buffer.byteLength(text, "utf8");
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** True when `relative` (joined with "/") stays strictly inside the output dir on POSIX and Windows. */
function staysInside(relative: string): boolean {
  const posix = path.posix.resolve(OUT_POSIX, relative);
  const win32 = path.win32.resolve(OUT_WIN32, ...relative.split("/"));
  return (
    posix.startsWith(`${OUT_POSIX}/`) &&
    win32.startsWith(`${OUT_WIN32}\\`) &&
    // Nothing in a sanitised path may be rewritten by normalisation ("a//b", "a/./b", "a/../b").
    path.posix.normalize(relative) === relative
  );
}

/**
 * Why `component` could not be written as it is, or undefined when it can: it must be non-empty,
 * not `.` or `..`, free of separators, NUL and other controls, Windows-reserved characters and
 * bidirectional overrides, not end in a dot or space, fit in 255 UTF-8 bytes, and be valid
 * UTF-8 (no lone surrogates). Plain checks rather than `expect` calls: the properties run this
 * on a hundred thousand components.
 */
function unsafeReason(component: string): string | undefined {
  if (component === "" || component === "." || component === "..") return "empty, . or ..";
  if (/[\u0000-\u001f\u007f-\u009f/\\<>:"|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(component)) return "unsafe character";
  if (/[. ]$/.test(component)) return "trailing dot or space";
  if (bytesOf(component) > 255) return "over 255 bytes";
  if (utf8Strict.decode(new TextEncoder().encode(component)) !== component) return "not valid UTF-8";
  return undefined;
}

function expectSafeComponent(component: string): void {
  expect(unsafeReason(component), JSON.stringify(component)).toBeUndefined();
}

const fold = (p: readonly string[]): string => p.join("/").normalize("NFC").toLowerCase();

/** A multi-file torrent with these raw paths (strings or byte strings), 3 bytes per file. */
function multiFile(name: Encodable, paths: Encodable[][], extra: Record<string, Encodable> = {}): Metainfo {
  const files = paths.map((p) => ({ length: 3, path: p }));
  const info = { files, name, "piece length": 16, pieces: piecesOf(new Uint8Array(3 * files.length), 16), ...extra };
  return parseMetainfo(encode({ info }));
}

const pathsOf = (m: Metainfo): string[] => m.files.map((f) => f.path.join("/"));

describe("sanitizePathComponent", () => {
  it("keeps ordinary names unchanged", () => {
    for (const ok of ["a", "..a", "a..b", ".hidden", "a b", " leading space", "Ünïcode", "a\u2215b", "%2e%2e", "conx", "com10", "日本語.mkv", "\u{1F600}.png"]) {
      expect(sanitizePathComponent(ok)).toBe(ok);
    }
  });

  it("drops empty, `.` and `..` components, and those of only dots and spaces", () => {
    for (const gone of ["", ".", "..", "...", " ", ". .", ".. "]) expect(sanitizePathComponent(gone)).toBeUndefined();
    expect(sanitizePathComponent(utf8(".."))).toBeUndefined();
  });

  it("replaces separators inside a component instead of splitting on them", () => {
    expect(sanitizePathComponent("a/b")).toBe("a_b");
    expect(sanitizePathComponent("a/../../b")).toBe("a_.._.._b");
    expect(sanitizePathComponent("..\\..\\x")).toBe(".._.._x");
    expect(sanitizePathComponent("\\\\server\\share")).toBe("__server_share");
  });

  it("makes absolute-looking components relative", () => {
    expect(sanitizePathComponent("/etc")).toBe("_etc");
    expect(sanitizePathComponent("/")).toBe("_");
    expect(sanitizePathComponent("C:")).toBe("C_");
    expect(sanitizePathComponent("c:evil")).toBe("c_evil");
    expect(sanitizePathComponent("C:\\Windows")).toBe("C__Windows");
  });

  it("replaces NUL, C0 and C1 controls and DEL", () => {
    expect(sanitizePathComponent("a\0b")).toBe("a_b");
    expect(sanitizePathComponent("\t")).toBe("_");
    expect(sanitizePathComponent("x\x7f")).toBe("x_");
    expect(sanitizePathComponent("\x1b[31mred")).toBe("_[31mred");
    expect(sanitizePathComponent("\x9b31m")).toBe("_31m");
    expect(sanitizePathComponent("line\nbreak")).toBe("line_break");
  });

  it("replaces the characters Windows refuses, on every platform", () => {
    expect(sanitizePathComponent('a<b>c:d"e|f?g*h')).toBe("a_b_c_d_e_f_g_h");
    expect(sanitizePathComponent("file.txt:$DATA")).toBe("file.txt_$DATA");
  });

  it("replaces bidirectional overrides that disguise an extension", () => {
    expect(sanitizePathComponent("invoice\u202Efdp.exe")).toBe("invoice_fdp.exe");
    for (const mark of ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069"]) {
      expect(sanitizePathComponent(`a${mark}b`)).toBe("a_b");
    }
  });

  it("removes trailing dots and spaces, which Windows would drop silently", () => {
    expect(sanitizePathComponent("name.")).toBe("name");
    expect(sanitizePathComponent("name . . ")).toBe("name");
    expect(sanitizePathComponent("a?.")).toBe("a_");
  });

  it("prefixes Windows device names, whatever the case or extension", () => {
    for (const device of ["CON", "con", "Prn", "AUX", "NUL", "COM1", "com9", "LPT1", "lpt0", "COM\u00b9", "CONIN$", "conout$"]) {
      expect(sanitizePathComponent(device)).toBe(`_${device}`);
    }
    expect(sanitizePathComponent("nul.txt")).toBe("_nul.txt");
    expect(sanitizePathComponent("con .tar.gz")).toBe("_con .tar.gz");
    expect(sanitizePathComponent("CONTACTS")).toBe("CONTACTS");
  });

  it("decodes bytes as UTF-8, replacing invalid sequences (and lone surrogates) with U+FFFD", () => {
    expect(sanitizePathComponent(utf8("héllo"))).toBe("héllo");
    expect(sanitizePathComponent(Uint8Array.from([0x61, 0xc3, 0x28, 0x62]))).toBe("a\uFFFD(b");
    expect(sanitizePathComponent(Uint8Array.from([0xff, 0xfe]))).toBe("\uFFFD\uFFFD");
    expect(sanitizePathComponent("a\uD800b")).toBe("a\uFFFDb");
  });

  it("cuts components over 255 bytes, keeping the extension", () => {
    const long = sanitizePathComponent(`${"x".repeat(300)}.mkv`)!;
    expect(long).toBe(`${"x".repeat(251)}.mkv`);
    expect(bytesOf(long)).toBe(255);
    expect(sanitizePathComponent("y".repeat(300))).toBe("y".repeat(255));
    // A suffix too long to be an extension is cut like the rest.
    expect(sanitizePathComponent(`${"z".repeat(250)}.${"e".repeat(40)}`)).toBe(`${"z".repeat(250)}.${"e".repeat(4)}`);
    expect(sanitizePathComponent(`.${"h".repeat(300)}`)).toBe(`.${"h".repeat(254)}`);
    expect(sanitizePathComponent("x".repeat(255))).toBe("x".repeat(255));
  });

  it("cuts at a code point boundary, so the result stays valid UTF-8", () => {
    const accented = sanitizePathComponent(`${"é".repeat(148)}.dat`)!; // 300 bytes
    expect(accented).toBe(`${"é".repeat(125)}.dat`);
    expect(bytesOf(accented)).toBe(254);
    const emoji = sanitizePathComponent("\u{1F600}".repeat(70))!; // 280 bytes, 4 per code point
    expect(emoji).toBe("\u{1F600}".repeat(63));
    expectSafeComponent(emoji);
  });

  it("takes linear time on a component of megabytes, whatever it holds", () => {
    const started = performance.now();
    // The last ". x" is short enough to count as the extension, so it is kept.
    expect(sanitizePathComponent(`${". ".repeat(1_000_000)}x`)).toBe(`${". ".repeat(126)}. x`);
    expect(sanitizePathComponent(". ".repeat(1_000_000))).toBeUndefined();
    expect(sanitizePathComponent("/".repeat(2_000_000))).toBe("_".repeat(255));
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("removes trailing dots or spaces a cut would leave at the end", () => {
    expect(sanitizePathComponent(`${"a".repeat(254)} b`)).toBe("a".repeat(254));
  });
});

describe("parsed torrents: unsafe paths are repaired, not refused", () => {
  it("drops `.`, `..` and empty components", () => {
    const m = multiFile("t", [["..", "..", "etc", "passwd"], ["a", ".", "", "b"], ["x", ".."]]);
    expect(pathsOf(m)).toEqual(["etc/passwd", "a/b", "x"]);
  });

  it("names a file whose path sanitises to nothing, or is empty, `_` (then `_.1`)", () => {
    expect(pathsOf(multiFile("t", [["..", "."], ["keep"]]))).toEqual(["_", "keep"]);
    expect(pathsOf(multiFile("t", [[], [".."]]))).toEqual(["_", "_.1"]);
  });

  it("gives the torrent name the same treatment", () => {
    expect(multiFile("../../etc", [["a"]]).name).toBe(".._.._etc");
    expect(multiFile("/abs/name", [["a"]]).name).toBe("_abs_name");
    expect(multiFile("a:b*?", [["a"]]).name).toBe("a_b__");
    expect(multiFile(`${"n".repeat(300)}.iso`, [["a"]]).name).toBe(`${"n".repeat(251)}.iso`);
  });

  it("falls back to the info hash in hex for a name with nothing left", () => {
    for (const name of ["", ".", "..", " . "]) {
      const m = multiFile(name, [["a"]]);
      expect(m.name).toBe(m.infoHashHex);
      expect(relativeFilePath(m, m.files[0]!)).toBe(`${m.infoHashHex}/a`);
    }
  });

  it("uses name.utf-8 unless nothing of it is left, then name, then the info hash", () => {
    expect(multiFile("plain", [["a"]], { "name.utf-8": "ütf/8" }).name).toBe("ütf_8");
    expect(multiFile("plain", [["a"]], { "name.utf-8": ".." }).name).toBe("plain");
    const m = multiFile("..", [["a"]], { "name.utf-8": "" });
    expect(m.name).toBe(m.infoHashHex);
  });

  it("uses path.utf-8 unless nothing of it is left, then path", () => {
    const files = [
      { length: 3, path: ["raw"], "path.utf-8": ["ütf:8"] },
      { length: 3, path: ["fallback"], "path.utf-8": ["..", ""] },
      { length: 3, "path.utf-8": [".."] },
    ];
    const info = { files, name: "t", "piece length": 16, pieces: piecesOf(new Uint8Array(9), 16) };
    expect(pathsOf(parseMetainfo(encode({ info })))).toEqual(["ütf_8", "fallback", "_"]);
  });

  it("sanitises a single-file torrent's name, which is the file", () => {
    const info = { length: 3, name: "../x:y", "piece length": 16, pieces: piecesOf(new Uint8Array(3), 16) };
    const m = parseMetainfo(encode({ info }));
    expect(m.name).toBe(".._x_y");
    expect(relativeFilePath(m, m.files[0]!)).toBe(".._x_y");
  });

  it("replaces invalid UTF-8 in path components", () => {
    const m = multiFile("t", [[Uint8Array.from([0x61, 0xff]), Uint8Array.from([0xc0, 0xaf, 0x62])]]);
    expect(m.files[0]!.path).toEqual(["a\uFFFD", "\uFFFD\uFFFDb"]);
  });

  it("keeps the info hash of the raw bytes whatever was renamed", () => {
    const files = [{ length: 3, path: ["..", "a"] }];
    const info = { files, name: "..", "piece length": 16, pieces: piecesOf(new Uint8Array(3), 16) };
    const m = parseMetainfo(encode({ info }));
    expect(m.infoBytes).toEqual(encode(info));
    expect(m.name).toBe(m.infoHashHex);
  });
});

describe("parsed torrents: colliding paths are renamed", () => {
  it("renames a later file on the same sanitised path before its extension", () => {
    expect(pathsOf(multiFile("t", [["d", "a/b.txt"], ["d", "a\\b.txt"], ["d", "a:b.txt"]]))).toEqual(["d/a_b.txt", "d/a_b.1.txt", "d/a_b.2.txt"]);
    expect(pathsOf(multiFile("t", [["x"], ["..", "x"], [".", "x"]]))).toEqual(["x", "x.1", "x.2"]);
  });

  it("compares case- and normalisation-insensitively, as case-insensitive file systems do", () => {
    expect(pathsOf(multiFile("t", [["README"], ["readme"]]))).toEqual(["README", "readme.1"]);
    expect(pathsOf(multiFile("t", [["caf\u00e9"], ["cafe\u0301"]]))).toEqual(["caf\u00e9", "cafe\u0301.1"]);
    expect(pathsOf(multiFile("t", [["Dir", "a"], ["dir", "a"]]))).toEqual(["Dir/a", "dir/a.1"]);
  });

  it("renames a file that is another file's directory, whichever comes first", () => {
    expect(pathsOf(multiFile("t", [["a"], ["a", "b"]]))).toEqual(["a.1", "a/b"]);
    expect(pathsOf(multiFile("t", [["a", "b"], ["a"]]))).toEqual(["a/b", "a.1"]);
  });

  it("lets a file keep a unique name that a rename could have taken", () => {
    expect(pathsOf(multiFile("t", [["x.txt"], ["x.txt"], ["x.1.txt"]]))).toEqual(["x.txt", "x.2.txt", "x.1.txt"]);
  });

  it("keeps a renamed long name within 255 bytes and its extension", () => {
    const long = `${"l".repeat(300)}.mkv`;
    const m = multiFile("t", [[long], [long]]);
    expect(m.files[0]!.path).toEqual([`${"l".repeat(251)}.mkv`]);
    // The stem is cut to leave room for any number (11 bytes), not just for ".1".
    expect(m.files[1]!.path).toEqual([`${"l".repeat(240)}.1.mkv`]);
    for (const f of m.files) expect(bytesOf(f.path[0]!)).toBeLessThanOrEqual(255);
  });

  it("renames many copies in linear time", () => {
    const paths = Array.from({ length: 20_000 }, () => ["same.bin"]);
    const started = performance.now();
    const m = multiFile("t", paths);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(m.files[19_999]!.path).toEqual(["same.19999.bin"]);
    expect(new Set(pathsOf(m)).size).toBe(20_000);
  });

  it("renames long names that differ only near their end in linear time", () => {
    // Each 255-byte name twice: every copy's rename cuts its stem to the same 244 bytes, so all
    // renames draw numbers from one family instead of retrying each other's.
    const names = Array.from({ length: 10_000 }, (_, i) => `${"p".repeat(250)}${String(i).padStart(5, "0")}`);
    const started = performance.now();
    const m = multiFile("t", [...names, ...names].map((n) => [n]));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(m.files[10_000]!.path).toEqual([`${"p".repeat(244)}.1`]);
    expect(m.files[19_999]!.path).toEqual([`${"p".repeat(244)}.10000`]);
    expect(new Set(pathsOf(m).map((p) => p.toLowerCase())).size).toBe(20_000);
  });

  it("leaves pad files alone: they are never written and may repeat", () => {
    const files = [
      { length: 3, path: ["a"] },
      { attr: "p", length: 3, path: [".pad", "3"] },
      { length: 3, path: ["b"] },
      { attr: "p", length: 3, path: [".pad", "3"] },
      { attr: "p", length: 3, path: ["a"] },
    ];
    const info = { files, name: "t", "piece length": 16, pieces: piecesOf(new Uint8Array(15), 16) };
    expect(pathsOf(parseMetainfo(encode({ info })))).toEqual(["a", ".pad/3", "b", ".pad/3", "a"]);
  });
});

/** Components built to hit every rule: traversal, separators, drives, controls, odd Unicode, case. */
const hostileText = fc
  .array(
    fc.oneof(
      fc.constantFrom(".", "..", "/", "\\", ":", "*", "?", "<", '"', "C", "c:", "a", "A", "b", "\0", "\x1f", "\x7f", "\x9b", " ", "~"),
      fc.constantFrom("con", "NUL", "%2e%2e", "\u202e", "\uFFFD", "é", "e\u0301", "\uD800", "\uDC00", "\u2215", "\uFF0F", ".txt", ".1"),
      fc.constantFrom("x".repeat(300), "é".repeat(140), "\u{1F600}".repeat(70)),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(""));

/** Few distinct names, which sanitise or fold to fewer still, so that paths often collide. */
const collidingText = fc.constantFrom("a", "A", "b", "a.txt", "A.TXT", "a.1.txt", "a?", "a:", "a.", "..", ".", "", "caf\u00e9", "cafe\u0301");

const hostileComponent: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: hostileText.map(utf8) },
  { weight: 3, arbitrary: collidingText.map(utf8) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
);

describe("sanitising properties", () => {
  it("property: a component is dropped or is safe, and stays inside the output dir", () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, hostileComponent), (raw) => {
        const safe = sanitizePathComponent(raw);
        if (safe === undefined) return;
        expectSafeComponent(safe);
        expect(staysInside(safe)).toBe(true);
        expect(staysInside(`name/${safe}`)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("property: any path lists load, with safe, unique components that stay under <out>/<name>", () => {
    fc.assert(
      fc.property(
        hostileComponent,
        fc.array(fc.array(hostileComponent, { maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        (name, paths) => {
          // Never refused: every name problem is repaired (these paths are far below maxPathBytes).
          const m = multiFile(name, paths);
          const problems: string[] = [];
          const seen = new Set<string>();
          const dirs = new Set<string>();
          for (const component of [m.name, ...m.files.flatMap((f) => f.path)]) {
            const reason = unsafeReason(component);
            if (reason !== undefined) problems.push(`${JSON.stringify(component)}: ${reason}`);
          }
          for (const file of m.files) {
            if (file.path.length === 0) problems.push(`file ${file.index} has no path`);
            const key = fold(file.path);
            if (seen.has(key)) problems.push(`${key} twice`);
            seen.add(key);
            for (let i = 1; i < file.path.length; i++) dirs.add(fold(file.path.slice(0, i)));
            const relative = relativeFilePath(m, file);
            if (!relative.startsWith(`${m.name}/`) || !staysInside(relative)) problems.push(`${relative} leaves <out>/<name>`);
          }
          for (const key of seen) if (dirs.has(key)) problems.push(`${key} is a file and a directory`);
          expect(problems).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
