import { describe, expect, it } from "vitest";
import { AddressBook } from "../src/address-book.js";

const addr = (n: number) => ({ ip: `10.0.0.${n}`, port: 6881 });
const key = (n: number) => `10.0.0.${n}:6881`;
const none = () => false;

function book() {
  const c = { nowMs: 1_000_000 };
  return { c, book: new AddressBook(() => c.nowMs) };
}

describe("AddressBook", () => {
  it("hands out each ready address once and ignores duplicates", () => {
    const { book: b } = book();
    b.add([addr(1), addr(2), addr(3), addr(1)]);
    expect(b.size).toBe(3);
    expect(b.take(2, none)).toHaveLength(2);
    expect(b.take(5, none)).toHaveLength(1);
    expect(b.take(5, none)).toEqual([]);
  });

  it("skips excluded addresses and keeps them for a later take", () => {
    const { book: b } = book();
    b.add([addr(1), addr(2)]);
    expect(b.take(5, (k) => k === key(1))).toEqual([addr(2)]);
    expect(b.take(5, none)).toEqual([addr(1)]);
  });

  it("backs off 15 s after a failed dial, doubling with each failure", () => {
    const { c, book: b } = book();
    b.add([addr(1)]);
    for (const delayMs of [15_000, 30_000, 60_000, 120_000]) {
      expect(b.take(1, none)).toEqual([addr(1)]);
      b.failed(key(1));
      c.nowMs += delayMs - 1;
      expect(b.take(1, none), `${delayMs - 1} ms after the failure`).toEqual([]);
      c.nowMs += 1;
    }
    expect(b.take(1, none)).toEqual([addr(1)]);
  });

  it("forgets an address after five failed dials until a tracker lists it again", () => {
    const { c, book: b } = book();
    b.add([addr(1)]);
    for (let i = 0; i < 5; i++) {
      c.nowMs += 1_000_000;
      expect(b.take(1, none)).toEqual([addr(1)]);
      b.failed(key(1));
    }
    expect(b.size).toBe(0);
    c.nowMs += 1_000_000;
    expect(b.take(1, none)).toEqual([]);
    b.add([addr(1)]);
    expect(b.take(1, none)).toEqual([addr(1)]);
  });

  it("shortens a long back-off to its first step when a tracker lists the address again", () => {
    const { c, book: b } = book();
    b.add([addr(1)]);
    for (let i = 0; i < 3; i++) {
      c.nowMs += 1_000_000;
      b.take(1, none);
      b.failed(key(1));
    }
    // Third failure: 60 s. Listed again, it is due in 15 s.
    b.add([addr(1)]);
    c.nowMs += 15_000;
    expect(b.take(1, none)).toEqual([addr(1)]);
  });

  it("offers the least failed addresses first", () => {
    const { c, book: b } = book();
    b.add([addr(1), addr(2)]);
    b.take(2, none);
    b.failed(key(1));
    b.failed(key(2));
    b.failed(key(2));
    b.add([addr(3)]);
    c.nowMs += 1_000_000;
    expect(b.take(3, none)).toEqual([addr(3), addr(1), addr(2)]);
  });

  it("dials a lost connection again after 10 s", () => {
    const { c, book: b } = book();
    b.add([addr(1)]);
    b.take(1, none);
    b.markConnected(key(1), "10.0.0.1", 6881);
    b.disconnected(key(1));
    c.nowMs += 9_999;
    expect(b.take(1, none)).toEqual([]);
    c.nowMs += 1;
    expect(b.take(1, none)).toEqual([addr(1)]);
  });

  it("clears failures on a working connection and learns incoming peers", () => {
    const { c, book: b } = book();
    b.add([addr(1)]);
    for (let i = 0; i < 4; i++) {
      c.nowMs += 1_000_000;
      b.take(1, none);
      b.failed(key(1));
    }
    b.markConnected(key(1), "10.0.0.1", 6881);
    b.failed(key(1));
    // One failure since the connection worked: the first back-off step, and not forgotten.
    expect(b.size).toBe(1);
    c.nowMs += 15_000;
    expect(b.take(1, none)).toEqual([addr(1)]);

    b.markConnected(key(9), "10.0.0.9", 6881);
    expect(b.size).toBe(2);
    expect(b.take(5, none)).toEqual([]);
  });

  it("removes an address on request", () => {
    const { book: b } = book();
    b.add([addr(1), addr(2)]);
    b.remove(key(1));
    expect(b.take(5, none)).toEqual([addr(2)]);
  });

  it("keeps at most 4000 addresses however many trackers hand out", () => {
    const { book: b } = book();
    const many = Array.from({ length: 5000 }, (_, i) => ({ ip: `10.${i >> 8}.${i & 255}.1`, port: 6881 }));
    b.add(many);
    expect(b.size).toBe(4000);
    b.markConnected("10.99.99.99:6881", "10.99.99.99", 6881);
    expect(b.size).toBe(4000);
  });

  it("forgives a known address listed again even when the book is full", () => {
    const { c, book: b } = book();
    b.add(Array.from({ length: 4000 }, (_, i) => ({ ip: `10.${i >> 8}.${i & 255}.1`, port: 6881 })));
    const known = { ip: "10.0.0.1", port: 6881 };
    for (let i = 0; i < 3; i++) {
      c.nowMs += 1_000_000;
      b.take(4000, (k) => k !== "10.0.0.1:6881");
      b.failed("10.0.0.1:6881");
    }
    b.add([{ ip: "192.168.1.1", port: 1 }, known]);
    c.nowMs += 15_000;
    expect(b.take(1, (k) => k !== "10.0.0.1:6881")).toEqual([known]);
  });
});
