import { describe, expect, it } from "vitest";
import { SUBJECTS, heldKey, partsKey, subjectOf, torrentKeys, type SubjectName } from "@shoal/coordination";

const ih = "0123456789abcdef0123456789abcdef01234567";
const names = Object.keys(SUBJECTS) as SubjectName[];

describe("subjects", () => {
  it("builds shoal.<infoHash>.<name with dots>", () => {
    expect(subjectOf("piece_staged", ih)).toBe(`shoal.${ih}.piece.staged`);
    expect(subjectOf("torrent_started", ih)).toBe(`shoal.${ih}.torrent.started`);
  });

  it("uses the NATS single-token wildcard for every torrent", () => {
    expect(subjectOf("peer_banned", "*")).toBe("shoal.*.peer.banned");
  });

  it("keeps names a closed snake_case list with distinct subjects", () => {
    for (const n of names) expect(n).toMatch(/^[a-z]+(_[a-z]+)+$/);
    expect(new Set(names.map((n) => subjectOf(n, ih))).size).toBe(names.length);
  });

  it("makes exactly the work that must not be lost durable", () => {
    expect(names.filter((n) => SUBJECTS[n].durable).sort()).toEqual(["piece_staged", "torrent_complete"]);
  });
});

describe("keys", () => {
  it("puts every key of a torrent under the prefix and one hash tag", () => {
    const keys = Object.values(torrentKeys("test-1", ih));
    for (const k of keys) expect(k.startsWith(`test-1:t:{${ih}}:`), k).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps torrents and workers apart", () => {
    const other = "f".repeat(40);
    const a = Object.values(torrentKeys("p", ih));
    const b = Object.values(torrentKeys("p", other));
    expect(a.filter((k) => b.includes(k))).toEqual([]);
    expect(heldKey("p", ih, "w1")).not.toBe(heldKey("p", ih, "w2"));
    expect(heldKey("p", ih, "w1")).not.toBe(heldKey("p", other, "w1"));
  });

  it("keeps a worker's held pieces in the torrent's slot, whatever the worker id", () => {
    // Redis hashes only the first {...} of a key, so braces in a worker id must not matter.
    for (const worker of ["w1", "{other}", "a}b{c"]) {
      const key = heldKey("p", ih, worker);
      expect(key.startsWith(torrentKeys("p", ih).held), key).toBe(true);
      expect(key.slice(key.indexOf("{") + 1, key.indexOf("}")), key).toBe(ih);
    }
  });

  it("keeps an object's uploaded parts in the torrent's slot, whatever the object key", () => {
    for (const objectKey of ["dl/a.bin", "dl/{x}/b.bin", "}{"]) {
      const key = partsKey("p", ih, objectKey);
      expect(key, key).toBe(`${torrentKeys("p", ih).parts}${objectKey}`);
      expect(key.slice(key.indexOf("{") + 1, key.indexOf("}")), key).toBe(ih);
    }
    expect(partsKey("p", ih, "a")).not.toBe(partsKey("p", "f".repeat(40), "a"));
  });
});
