import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeMessage, encodeRequest, MessageDecoder, REQUEST_MESSAGE_BYTES, WireError, writeRequest } from "@shoal/wire";
import type { Message } from "@shoal/wire";
import { plain, splitAt, type PlainMessage } from "./decode-helpers.js";

const limits = { pieceCount: 64, maxBlockBytes: 1024 };

/** A stream of piece messages with distinct contents, a bitfield and a have in between. */
function stream(): { bytes: Buffer; messages: Message[] } {
  const messages: Message[] = [];
  for (let i = 0; i < 6; i++) {
    messages.push({ type: "piece", index: i, begin: i * 1024, block: Buffer.alloc(1000 + i, i + 1) });
    if (i === 2) messages.push({ type: "bitfield", bits: Buffer.from([0xff, 0, 0xaa, 0, 0x55, 0, 1, 0x80]) });
    if (i === 4) messages.push({ type: "have", index: 9 });
  }
  return { bytes: Buffer.concat(messages.map((m) => encodeMessage(m))), messages };
}

describe("MessageDecoder with reuseBlockBuffer", () => {
  it("delivers every block intact when the handler copies it, however the stream is cut", () => {
    const { bytes, messages } = stream();
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 30 }), (rawCuts) => {
        const seen: PlainMessage[] = [];
        // plain() copies the block into a hex string before the handler returns.
        const decoder = new MessageDecoder(limits, (m) => seen.push(plain(m)), { reuseBlockBuffer: true });
        for (const chunk of splitAt(bytes, [...rawCuts].sort((a, b) => a - b))) decoder.push(chunk);
        expect(seen).toEqual(messages.map(plain));
      }),
    );
  });

  it("keeps the payload of other messages that straddle chunks out of the reused buffer", () => {
    const { bytes } = stream();
    const kept: Message[] = [];
    const decoder = new MessageDecoder(limits, (m) => kept.push(m), { reuseBlockBuffer: true });
    // One byte at a time: every message straddles.
    for (let i = 0; i < bytes.length; i++) decoder.push(bytes.subarray(i, i + 1));
    const bitfield = kept.find((m) => m.type === "bitfield");
    expect(bitfield && Buffer.from(bitfield.bits).toString("hex")).toBe("ff00aa0055000180");
    // The blocks themselves all lived in one buffer: that is why the handler must copy them.
    const blocks = kept.flatMap((m) => (m.type === "piece" ? [m.block.buffer] : []));
    expect(blocks).toHaveLength(6);
    expect(new Set(blocks).size).toBe(1);
  });
});

describe("writeRequest", () => {
  it("writes the bytes encodeRequest returns, at any offset", () => {
    const batch = Buffer.alloc(3 * REQUEST_MESSAGE_BYTES + 5);
    writeRequest(batch, 5, 1, 16384, 16384);
    writeRequest(batch, 5 + REQUEST_MESSAGE_BYTES, 0xffffffff, 0, 1);
    expect(batch.subarray(5, 5 + REQUEST_MESSAGE_BYTES).equals(encodeRequest(1, 16384, 16384))).toBe(true);
    expect(batch.subarray(5 + REQUEST_MESSAGE_BYTES, 5 + 2 * REQUEST_MESSAGE_BYTES).equals(encodeRequest(0xffffffff, 0, 1))).toBe(true);
  });

  it("refuses a request that does not fit, or fields that are not uint32", () => {
    const batch = Buffer.alloc(REQUEST_MESSAGE_BYTES);
    expect(() => writeRequest(batch, 1, 0, 0, 1)).toThrow(WireError);
    expect(() => writeRequest(batch, -1, 0, 0, 1)).toThrow(WireError);
    expect(() => writeRequest(batch, 0, -1, 0, 1)).toThrow(WireError);
    expect(() => writeRequest(batch, 0, 0, 2 ** 32, 1)).toThrow(WireError);
  });
});
