import { describe, expect, it } from "vitest";
import {
  KEEP_ALIVE,
  MESSAGE_ID,
  MessageDecoder,
  WireError,
  encodeHave,
  encodeMessage,
  encodePieceHeader,
  encodePieceParts,
  encodeRequest,
} from "@shoal/wire";
import type { Message } from "@shoal/wire";
import { decodeChunks, plain, thrown } from "./decode-helpers.js";
import { SAMPLE_PIECE_COUNT, sampleMessages } from "./sample-messages.js";

const limits = { pieceCount: SAMPLE_PIECE_COUNT };

describe("message round trips", () => {
  for (const message of sampleMessages()) {
    it(`decodes an encoded ${message.type} message to itself`, () => {
      expect(decodeChunks(limits, [encodeMessage(message)])).toEqual([plain(message)]);
    });
  }

  it("covers every message type", () => {
    const types = new Set(sampleMessages().map((m) => m.type));
    expect([...types].sort()).toEqual([...Object.keys(MESSAGE_ID), "keep_alive"].sort());
  });
});

describe("encoders write the BEP byte layout", () => {
  it("encodes a request as 17 bytes: length 13, id 6, index, begin, length", () => {
    expect(encodeRequest(1, 0x4000, 0x4000).toString("hex")).toBe("0000000d06" + "00000001" + "00004000" + "00004000");
  });

  it("encodes the largest uint32 fields without sign trouble", () => {
    expect(encodeRequest(0xffffffff, 0xffffffff, 0xffffffff).toString("hex")).toBe("0000000d06" + "ff".repeat(12));
  });

  it("encodes have, keep-alive, choke and port exactly", () => {
    expect(encodeHave(258).toString("hex")).toBe("000000050400000102");
    expect(KEEP_ALIVE.toString("hex")).toBe("00000000");
    expect(encodeMessage({ type: "keep_alive" }).toString("hex")).toBe("00000000");
    expect(encodeMessage({ type: "choke" }).toString("hex")).toBe("0000000100");
    expect(encodeMessage({ type: "port", port: 0x1ae1 }).toString("hex")).toBe("00000003091ae1");
    expect(encodeMessage({ type: "have_all" }).toString("hex")).toBe("000000010e");
  });

  it("offers the piece message as one buffer or as header plus the uncopied block", () => {
    const block = Buffer.from("abc");
    const whole = encodeMessage({ type: "piece", index: 2, begin: 5, block });
    expect(whole.toString("hex")).toBe("0000000c07" + "00000002" + "00000005" + "616263");
    const [header, body] = encodePieceParts(2, 5, block);
    expect(header.length).toBe(13);
    expect(body).toBe(block);
    expect(Buffer.concat([header, body]).equals(whole)).toBe(true);
    expect(encodePieceHeader(2, 5, 3).equals(header)).toBe(true);
  });

  it("encodes an extended message with its sub-id in front of the payload", () => {
    const bytes = encodeMessage({ type: "extended", id: 2, payload: Buffer.from("de") });
    expect(bytes.toString("hex")).toBe("00000004" + "14" + "02" + "6465");
  });

  const badValues = [-1, 1.5, 2 ** 32, Number.NaN, Infinity];
  for (const value of badValues) {
    it(`refuses ${value} as a uint32 field with INVALID_ARGUMENT`, () => {
      for (const encode of [
        () => encodeRequest(value, 0, 1),
        () => encodeRequest(0, value, 1),
        () => encodeRequest(0, 0, value),
        () => encodeHave(value),
        () => encodePieceHeader(value, 0, 1),
        () => encodeMessage({ type: "cancel", index: 0, begin: value, length: 1 }),
        () => encodeMessage({ type: "allowed_fast", index: value }),
      ]) {
        const err = thrown(encode);
        expect(err).toBeInstanceOf(WireError);
        expect((err as WireError).code).toBe("INVALID_ARGUMENT");
      }
    });
  }

  it("refuses a port outside uint16, an extended id outside uint8 and an unknown type", () => {
    expect(() => encodeMessage({ type: "port", port: 65536 })).toThrow(WireError);
    expect(() => encodeMessage({ type: "extended", id: 256, payload: Buffer.alloc(0) })).toThrow(WireError);
    expect(() => encodeMessage({ type: "bogus" } as unknown as Message)).toThrow(WireError);
  });
});

describe("decoded byte fields", () => {
  it("gives a piece block that is a view into the pushed chunk, not a copy", () => {
    const chunk = encodeMessage({ type: "piece", index: 1, begin: 0, block: Buffer.alloc(100, 1) });
    let block: Buffer | undefined;
    new MessageDecoder(limits, (m) => {
      if (m.type === "piece") block = m.block;
    }).push(chunk);
    expect(block?.buffer).toBe(chunk.buffer);
    expect(block?.byteOffset).toBe(chunk.byteOffset + 13);
  });

  it("gives Buffers even when plain Uint8Arrays are pushed", () => {
    const chunk = new Uint8Array(encodeMessage({ type: "extended", id: 1, payload: Buffer.from("x") }));
    let payload: unknown;
    new MessageDecoder(limits, (m) => {
      if (m.type === "extended") payload = m.payload;
    }).push(chunk);
    expect(Buffer.isBuffer(payload)).toBe(true);
  });

  it("shares frozen objects for messages without fields", () => {
    const seen: Message[] = [];
    const decoder = new MessageDecoder(limits, (m) => seen.push(m));
    decoder.push(Buffer.concat([encodeMessage({ type: "choke" }), encodeMessage({ type: "choke" })]));
    expect(seen[0]).toBe(seen[1]);
    expect(Object.isFrozen(seen[0])).toBe(true);
  });
});
