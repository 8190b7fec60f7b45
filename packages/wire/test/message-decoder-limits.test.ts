import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_PIECE_COUNT,
  MESSAGE_ID,
  MessageDecoder,
  WireError,
  encodeMessage,
  encodeRequest,
} from "@shoal/wire";
import type { DecoderLimits, Message, WireErrorCode } from "@shoal/wire";
import { thrown } from "./decode-helpers.js";

/** A length prefix followed by whatever bytes are given (often just the id). */
function frame(length: number, ...bytes: number[]): Buffer {
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32BE(length, 0);
  out.set(bytes, 4);
  return out;
}

/** Pushes `chunks` into a fresh decoder and returns the WireError code it throws. */
function failure(limits: DecoderLimits, ...chunks: Buffer[]): WireErrorCode {
  const decoder = new MessageDecoder(limits, () => undefined);
  const err = thrown(() => {
    for (const chunk of chunks) decoder.push(chunk);
  });
  expect(err).toBeInstanceOf(WireError);
  return (err as WireError).code;
}

const limits: DecoderLimits = { pieceCount: 100 };

const FIXED: ReadonlyArray<[keyof typeof MESSAGE_ID, number]> = [
  ["choke", 1],
  ["unchoke", 1],
  ["interested", 1],
  ["not_interested", 1],
  ["have_all", 1],
  ["have_none", 1],
  ["have", 5],
  ["suggest", 5],
  ["allowed_fast", 5],
  ["request", 13],
  ["cancel", 13],
  ["reject", 13],
  ["port", 3],
];

describe("fixed-size messages with the wrong length", () => {
  for (const [type, length] of FIXED) {
    for (const wrong of [length - 1, length + 1, length + 1000]) {
      if (wrong === 0) continue;
      it(`rejects ${type} with length ${wrong} as soon as its id byte arrives`, () => {
        expect(failure(limits, frame(wrong, MESSAGE_ID[type]))).toBe("BAD_LENGTH");
      });
    }
  }

  it("reads a zero length as a keep-alive, never as a short message", () => {
    const seen: string[] = [];
    new MessageDecoder(limits, (m) => seen.push(m.type)).push(frame(0, 0, 0, 0, 0));
    expect(seen).toEqual(["keep_alive", "keep_alive"]);
  });
});

describe("length prefix above maxMessageBytes", () => {
  it("fails on the 4-byte prefix alone, before any payload arrives", () => {
    expect(failure(limits, frame(DEFAULT_MAX_MESSAGE_BYTES + 1))).toBe("MESSAGE_TOO_LONG");
    expect(failure(limits, frame(0xffffffff))).toBe("MESSAGE_TOO_LONG");
  });

  it("fails on a prefix split across chunks as soon as its last byte arrives", () => {
    const prefix = frame(0x7fffffff);
    expect(failure(limits, prefix.subarray(0, 1), prefix.subarray(1, 3), prefix.subarray(3))).toBe("MESSAGE_TOO_LONG");
  });

  it("applies a custom limit to extended messages and unknown ids too", () => {
    const small = { pieceCount: 1, maxBlockBytes: 64, maxMessageBytes: 100 };
    expect(failure(small, frame(101, MESSAGE_ID.extended))).toBe("MESSAGE_TOO_LONG");
    expect(failure(small, frame(101, 99))).toBe("MESSAGE_TOO_LONG");
    const ok = new MessageDecoder(small, () => undefined);
    expect(() => ok.push(frame(100, MESSAGE_ID.extended, 0))).not.toThrow();
  });
});

describe("bitfield", () => {
  it("rejects a bitfield one byte short or long, before its payload arrives", () => {
    expect(failure(limits, frame(1 + 12, MESSAGE_ID.bitfield))).toBe("BAD_BITFIELD");
    expect(failure(limits, frame(1 + 14, MESSAGE_ID.bitfield))).toBe("BAD_BITFIELD");
  });

  it("rejects a bitfield with a spare bit set", () => {
    const bits = Buffer.alloc(13);
    bits[12] = 0b0000_1000;
    expect(failure(limits, encodeMessage({ type: "bitfield", bits }))).toBe("BAD_BITFIELD");
  });

  it("accepts the last real piece bit", () => {
    const bits = Buffer.alloc(13);
    bits[12] = 0b0001_0000;
    const decoder = new MessageDecoder(limits, () => undefined);
    expect(() => decoder.push(encodeMessage({ type: "bitfield", bits }))).not.toThrow();
  });

  it("accepts any length up to the piece cap while the piece count is unknown", () => {
    const seen: Message[] = [];
    const decoder = new MessageDecoder({ pieceCount: null }, (m) => seen.push(m));
    decoder.push(encodeMessage({ type: "bitfield", bits: Buffer.alloc(MAX_PIECE_COUNT / 8, 0xff) }));
    decoder.push(encodeMessage({ type: "bitfield", bits: Buffer.alloc(3, 0xff) }));
    expect(seen.length).toBe(2);
    expect(failure({ pieceCount: null }, frame(2 + MAX_PIECE_COUNT / 8, MESSAGE_ID.bitfield))).toBe("BAD_BITFIELD");
  });

  it("checks bitfields against a piece count learned later", () => {
    const decoder = new MessageDecoder({ pieceCount: null }, () => undefined);
    decoder.push(encodeMessage({ type: "have", index: 5000 }));
    decoder.setPieceCount(10);
    expect(() => decoder.push(encodeMessage({ type: "bitfield", bits: Buffer.alloc(3) }))).toThrow(WireError);
    const later = new MessageDecoder({ pieceCount: null }, () => undefined);
    later.setPieceCount(10);
    expect(() => later.push(encodeMessage({ type: "have", index: 10 }))).toThrow(/out of range/);
  });
});

describe("piece", () => {
  it("rejects a block larger than maxBlockBytes before buffering it", () => {
    expect(failure(limits, frame(9 + 16385, MESSAGE_ID.piece))).toBe("BAD_LENGTH");
    expect(failure({ pieceCount: 100, maxBlockBytes: 32768 }, frame(9 + 32769, MESSAGE_ID.piece))).toBe("BAD_LENGTH");
  });

  it("accepts a 32 KiB block when the limit allows it", () => {
    const decoder = new MessageDecoder({ pieceCount: 100, maxBlockBytes: 32768 }, () => undefined);
    const piece = encodeMessage({ type: "piece", index: 0, begin: 0, block: Buffer.alloc(32768) });
    expect(() => decoder.push(piece)).not.toThrow();
  });

  it("rejects a piece message without a block or too short for index and begin", () => {
    expect(failure(limits, frame(9, MESSAGE_ID.piece))).toBe("BAD_LENGTH");
    expect(failure(limits, frame(5, MESSAGE_ID.piece))).toBe("BAD_LENGTH");
    expect(failure(limits, frame(1, MESSAGE_ID.piece))).toBe("BAD_LENGTH");
  });

  it("rejects a piece index at or above the piece count", () => {
    const block = Buffer.alloc(1);
    expect(failure(limits, encodeMessage({ type: "piece", index: 100, begin: 0, block }))).toBe("INDEX_OUT_OF_RANGE");
    expect(failure(limits, encodeMessage({ type: "piece", index: 0xffffffff, begin: 0, block }))).toBe(
      "INDEX_OUT_OF_RANGE",
    );
  });
});

describe("request, cancel and reject", () => {
  for (const type of ["request", "cancel", "reject"] as const) {
    it(`rejects a ${type} for 0 bytes`, () => {
      expect(failure(limits, encodeMessage({ type, index: 0, begin: 0, length: 0 }))).toBe("BAD_BLOCK_LENGTH");
    });

    it(`rejects a ${type} above maxBlockBytes, including 2^32-1`, () => {
      expect(failure(limits, encodeMessage({ type, index: 0, begin: 0, length: 16385 }))).toBe("BAD_BLOCK_LENGTH");
      expect(failure(limits, encodeMessage({ type, index: 0, begin: 0, length: 0xffffffff }))).toBe("BAD_BLOCK_LENGTH");
    });

    it(`rejects a ${type} with an index out of range`, () => {
      expect(failure(limits, encodeMessage({ type, index: 100, begin: 0, length: 1 }))).toBe("INDEX_OUT_OF_RANGE");
    });
  }

  it("leaves begin unchecked for the caller, who knows the piece length", () => {
    const seen: Message[] = [];
    new MessageDecoder(limits, (m) => seen.push(m)).push(encodeRequest(0, 0xffffffff, 16384));
    expect(seen).toEqual([{ type: "request", index: 0, begin: 0xffffffff, length: 16384 }]);
  });
});

describe("index-carrying messages", () => {
  for (const type of ["have", "suggest", "allowed_fast"] as const) {
    it(`rejects ${type} for piece count or above`, () => {
      expect(failure(limits, encodeMessage({ type, index: 100 }))).toBe("INDEX_OUT_OF_RANGE");
      expect(failure({ pieceCount: null }, encodeMessage({ type, index: MAX_PIECE_COUNT }))).toBe("INDEX_OUT_OF_RANGE");
    });
  }
});

describe("extended", () => {
  it("rejects an extended message without its sub-id byte", () => {
    expect(failure(limits, frame(1, MESSAGE_ID.extended))).toBe("BAD_LENGTH");
  });
});

describe("errors", () => {
  it("names the problem, the value and the limit", () => {
    const decoder = new MessageDecoder(limits, () => undefined);
    const err = thrown(() => decoder.push(encodeMessage({ type: "bitfield", bits: Buffer.alloc(3) }))) as WireError;
    expect(err.message).toBe("bitfield length 3 does not match 100 pieces (expected 13)");
    expect(err.context).toEqual({ length: 3, expected: 13, pieceCount: 100 });
    expect(err.toJSON().name).toBe("WireError");
  });

  it("stays failed: every later push rethrows the first error", () => {
    const decoder = new MessageDecoder(limits, () => undefined);
    const err = thrown(() => decoder.push(frame(3, MESSAGE_ID.choke)));
    expect(thrown(() => decoder.push(encodeMessage({ type: "unchoke" })))).toBe(err);
    expect(thrown(() => decoder.push(Buffer.alloc(0)))).toBe(err);
  });

  it("refuses limits it cannot honour", () => {
    expect(() => new MessageDecoder({ pieceCount: -1 }, () => undefined)).toThrow(WireError);
    expect(() => new MessageDecoder({ pieceCount: MAX_PIECE_COUNT + 1 }, () => undefined)).toThrow(WireError);
    expect(() => new MessageDecoder({ pieceCount: 1, maxBlockBytes: 0 }, () => undefined)).toThrow(WireError);
    expect(() => new MessageDecoder({ pieceCount: 1, maxMessageBytes: 1000 }, () => undefined)).toThrow(WireError);
    expect(() => new MessageDecoder({ pieceCount: 1e6, maxMessageBytes: 16393 }, () => undefined)).toThrow(
      /bitfield of 1000000 pieces/,
    );
    const decoder = new MessageDecoder({ pieceCount: null }, () => undefined);
    expect(() => decoder.setPieceCount(1.5)).toThrow(WireError);
  });
});
