import { describe, expect, it } from "vitest";
import { Kind, Parser, type ParserEvent } from "@nats-io/nats-core/internal";
import { presizeSplitPayloads } from "../src/presized-payloads.js";

const READ_BYTES = 64 * 1024;

/** Feeds a MSG of `size` bytes to a parser in socket-sized reads; records its buffer's capacities. */
function parseSplit(size: number): { capacities: number[]; payloads: Uint8Array[] } {
  const payloads: Uint8Array[] = [];
  const parser = new Parser({
    push: (e: ParserEvent | (() => void)) => {
      if (typeof e !== "function" && e.kind === Kind.MSG && e.data) payloads.push(e.data.slice());
    },
  });
  const payload = new Uint8Array(size).map((_, i) => (i * 13) & 0xff);
  const wire = Buffer.concat([Buffer.from(`MSG piece 1 ${size}\r\n`), payload, Buffer.from("\r\n")]);
  const capacities: number[] = [];
  for (let at = 0; at < wire.length; at += READ_BYTES) {
    parser.parse(wire.subarray(at, at + READ_BYTES));
    const pending = (parser as unknown as { msgBuf?: { capacity: number } }).msgBuf;
    if (pending) capacities.push(pending.capacity);
  }
  expect(payloads.length).toBe(1);
  expect(Buffer.from(payloads[0]!).equals(payload)).toBe(true);
  return { capacities, payloads };
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
});
