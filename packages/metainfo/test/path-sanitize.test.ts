import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError, encode } from "@shoal/bencode";
import { MetainfoError, parseMetainfo, relativeFilePath, sanitizePathComponent } from "../src/index.js";
import { expectMetainfoError, piecesOf } from "./fixtures.js";

const OUT_POSIX = "/srv/out";
const OUT_WIN32 = "C:\\out";

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

/** Pieces of hostile components: traversal, separators, drives, controls, odd Unicode. */
const hostileComponent = fc
  .array(
    fc.oneof(
      fc.constantFrom(".", "..", "/", "\\", ":", "C", "c:", "a", "\0", "\x1f", "\x7f", " ", "~", "$", "%2e%2e", "\u202e", "\uFFFD", "é", "\uD800", "\uDC00", "\u2215", "\uFF0F"),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(""));

describe("sanitizePathComponent", () => {
  it("keeps ordinary names unchanged", () => {
    for (const ok of ["a", "...", "..a", "a..", ".hidden", "a b", "Ünïcode", "ab:c", "a\u2215b", "%2e%2e"]) {
      expect(sanitizePathComponent(ok)).toBe(ok);
    }
  });

  it("decodes bytes as UTF-8, replacing invalid sequences with U+FFFD", () => {
    expect(sanitizePathComponent(new TextEncoder().encode("héllo"))).toBe("héllo");
    expect(sanitizePathComponent(Uint8Array.from([0x61, 0xc3, 0x28, 0x62]))).toBe("a\uFFFD(b");
    expect(sanitizePathComponent("a\uD800b")).toBe("a\uFFFDb");
  });

  it("refuses every unsafe form with UNSAFE_PATH", () => {
    for (const bad of ["", ".", "..", "a/b", "/", "/etc", "a\\b", "\\\\server", "C:", "c:evil", "a\0", "\t", "x\x7f", "\x1b[31m"]) {
      expectMetainfoError(() => sanitizePathComponent(bad), "UNSAFE_PATH", "path component: ");
    }
    expectMetainfoError(() => sanitizePathComponent(Uint8Array.from([0x2e, 0x2e])), "UNSAFE_PATH", '".." is not allowed');
  });

  it("property: a sanitised component never leads out of the output directory", () => {
    fc.assert(
      fc.property(hostileComponent, (raw) => {
        let safe: string;
        try {
          safe = sanitizePathComponent(raw);
        } catch (err) {
          expect(err).toBeInstanceOf(MetainfoError);
          expect((err as MetainfoError).code).toBe("UNSAFE_PATH");
          return;
        }
        expect(staysInside(safe)).toBe(true);
        expect(staysInside(`name/${safe}`)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("property: every file of a parsed torrent lands under <out>/<name>", () => {
    let parsed = 0;
    fc.assert(
      fc.property(
        hostileComponent,
        fc.array(fc.array(hostileComponent, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        (name, paths) => {
          const files = paths.map((p) => ({ length: 3, path: p }));
          const info = { files, name, "piece length": 16, pieces: piecesOf(new Uint8Array(3 * files.length), 16) };
          let m;
          try {
            m = parseMetainfo(encode({ info }));
          } catch (err) {
            if (err instanceof MetainfoError || err instanceof DecodeError) return;
            throw err;
          }
          parsed += 1;
          for (const file of m.files) {
            const relative = relativeFilePath(m, file);
            expect(staysInside(relative)).toBe(true);
            expect(relative.startsWith(`${m.name}/`)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
    // Guards against a generator so hostile that no torrent parses and the property is vacuous.
    expect(parsed).toBeGreaterThan(100);
  });
});
