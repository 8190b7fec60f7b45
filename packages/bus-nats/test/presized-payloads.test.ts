import { describe, expect, it } from "vitest";
import { Kind, Parser, type ParserEvent } from "@nats-io/nats-core/internal";
import { idleBodyBytes, presizeSplitPayloads, returnBody } from "../src/presized-payloads.js";

const READ_BYTES = 64 * 1024;

/**
 * Feeds a MSG of `size` bytes to a parser in socket-sized reads; records its buffer's capacities
 * and the data views the parser dispatched (`views`, not copied).
 */
function parseSplit(size: number, seed = 13): { capacities: number[]; payloads: Uint8Array[]; views: Uint8Array[] } {
  const payloads: Uint8Array[] = [];
  const views: Uint8Array[] = [];
  const parser = new Parser({
    push: (e: ParserEvent | (() => void)) => {
      if (typeof e !== "function" && e.kind === Kind.MSG && e.data) {
        payloads.push(e.data.slice());
        views.push(e.data);
      }
    },
  });
  const payload = new Uint8Array(size).map((_, i) => (i * seed) & 0xff);
  const wire = Buffer.concat([Buffer.from(`MSG piece 1 ${size}\r\n`), payload, Buffer.from("\r\n")]);
  const capacities: number[] = [];
  for (let at = 0; at < wire.length; at += READ_BYTES) {
    parser.parse(wire.subarray(at, at + READ_BYTES));
    const pending = (parser as unknown as { msgBuf?: { capacity: number } }).msgBuf;
    if (pending) capacities.push(pending.capacity);
  }
  expect(payloads.length).toBe(1);
  expect(Buffer.from(payloads[0]!).equals(payload)).toBe(true);
  return { capacities, payloads, views };
}

describe("split payloads in the nats.js parser", () => {
  it("gathers a 1 MiB message in one buffer of its size instead of doubling from the first read", () => {
    presizeSplitPayloads();
    const size = 1024 * 1024;
    const { capacities } = parseSplit(size);
    // Grown once, after the first read, to hold the whole payload: no reallocation after that.
    expect(capacities[0]).toBeGreaterThanOrEqual(size);
    expect(new Set(capacities).size).toBe(1);
  });

  it("leaves a message that fits in one read as it was", () => {
    presizeSplitPayloads();
    expect(parseSplit(1000).capacities).toEqual([]);
  });

  it("gathers the next message in a body given back, and never in one still lent", () => {
    presizeSplitPayloads();
    const size = 1024 * 1024 + 300;
    const first = parseSplit(size, 7).views[0]!;
    const kept = parseSplit(size, 11).views[0]!;
    expect(kept.buffer).not.toBe(first.buffer);
    returnBody(first);
    returnBody(first); // a second return of the same body changes nothing
    expect(idleBodyBytes()).toBeGreaterThanOrEqual(size);
    // Another header length, the same size class: the returned body, its old bytes overwritten.
    const next = parseSplit(size - 100, 17).views[0]!;
    expect(next.buffer).toBe(first.buffer);
    expect(Buffer.from(next).equals(Buffer.from(new Uint8Array(size - 100).map((_, i) => (i * 17) & 0xff)))).toBe(true);
    // The body returned twice went out once: the one after that is a fresh buffer.
    const after = parseSplit(size, 19).views[0]!;
    expect(after.buffer).not.toBe(first.buffer);
    // The body never given back still holds its own message.
    expect(Buffer.from(kept).equals(Buffer.from(new Uint8Array(size).map((_, i) => (i * 11) & 0xff)))).toBe(true);
  });

  it("takes back only bodies it gathered", () => {
    presizeSplitPayloads();
    const before = idleBodyBytes();
    returnBody(new Uint8Array(2 * 1024 * 1024));
    returnBody(parseSplit(1000).views[0]!); // within one read: a view into the read itself
    expect(idleBodyBytes()).toBe(before);
  });
});
