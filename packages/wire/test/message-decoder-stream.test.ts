import { describe, expect, it } from "vitest";
import { MessageDecoder, WireError, encodeMessage } from "@shoal/wire";
import type { Message } from "@shoal/wire";
import { decodeChunks, plain, splitAt, thrown } from "./decode-helpers.js";
import { SAMPLE_PIECE_COUNT, sampleMessages } from "./sample-messages.js";

const limits = { pieceCount: SAMPLE_PIECE_COUNT };
const messages = sampleMessages();
const expected = messages.map(plain);
const stream = Buffer.concat(messages.map(encodeMessage));
// Everything but the trailing 16 KiB piece, small enough to cut at every pair of offsets.
const small = messages.slice(0, -1);
const smallStream = Buffer.concat(small.map(encodeMessage));

describe("chunking", () => {
  it("decodes the whole stream pushed as one chunk", () => {
    expect(decodeChunks(limits, [stream])).toEqual(expected);
  });

  it("decodes identically when split at every possible offset", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeChunks(limits, splitAt(stream, [cut]))).toEqual(expected);
    }
  });

  it("decodes identically when split at every pair of offsets", () => {
    const want = small.map(plain);
    for (let a = 1; a < smallStream.length; a++) {
      for (let b = a; b < smallStream.length; b++) {
        expect(decodeChunks(limits, splitAt(smallStream, [a, b]))).toEqual(want);
      }
    }
  });

  it("decodes identically when pushed byte by byte", () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(decodeChunks(limits, splitAt(stream, cuts))).toEqual(expected);
  });

  it("ignores empty chunks", () => {
    const chunks = splitAt(stream, [0, 0, 10, 10, 300]);
    expect(decodeChunks(limits, chunks)).toEqual(expected);
  });

  it("copies only a straddling message, into a buffer of exactly its length", () => {
    const block = Buffer.alloc(16384, 9);
    const bytes = encodeMessage({ type: "piece", index: 1, begin: 0, block });
    let received: Buffer | undefined;
    const decoder = new MessageDecoder(limits, (m) => {
      if (m.type === "piece") received = m.block;
    });
    decoder.push(bytes.subarray(0, 100));
    decoder.push(bytes.subarray(100));
    expect(received?.equals(block)).toBe(true);
    expect(received?.buffer).not.toBe(bytes.buffer);
    expect(received?.buffer.byteLength).toBe(16384 + 9);
  });
});

describe("bufferedBytes", () => {
  it("counts a partial prefix, a prefix awaiting its id and a partial body", () => {
    const bytes = encodeMessage({ type: "request", index: 1, begin: 2, length: 3 });
    const decoder = new MessageDecoder(limits, () => undefined);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(bytes.subarray(0, 2));
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(bytes.subarray(2, 4));
    expect(decoder.bufferedBytes).toBe(4);
    decoder.push(bytes.subarray(4, 10));
    expect(decoder.bufferedBytes).toBe(10);
    decoder.push(bytes.subarray(10));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("holds one message however finely the peer fragments it", () => {
    const payload = Buffer.alloc(65536, 3);
    const bytes = encodeMessage({ type: "extended", id: 1, payload });
    const seen: Message[] = [];
    const decoder = new MessageDecoder(limits, (m) => seen.push(m));
    for (let i = 0; i < bytes.length - 1; i++) decoder.push(bytes.subarray(i, i + 1));
    expect(decoder.bufferedBytes).toBe(bytes.length - 1);
    decoder.push(bytes.subarray(bytes.length - 1));
    expect(seen.map(plain)).toEqual([plain({ type: "extended", id: 1, payload })]);
  });
});

describe("unknown message ids", () => {
  const unknown = Buffer.from([0, 0, 0, 6, 21, 1, 2, 3, 4, 5]);
  const choke = encodeMessage({ type: "choke" });

  it("skips an unknown message and counts it", () => {
    const seen: string[] = [];
    const decoder = new MessageDecoder(limits, (m) => seen.push(m.type));
    decoder.push(Buffer.concat([unknown, choke, unknown]));
    expect(seen).toEqual(["choke"]);
    expect(decoder.skippedMessageCount).toBe(2);
  });

  it("skips an unknown message split at every offset without buffering its payload", () => {
    const both = Buffer.concat([unknown, choke]);
    for (let cut = 0; cut <= both.length; cut++) {
      expect(decodeChunks(limits, splitAt(both, [cut]))).toEqual([{ type: "choke" }]);
    }
    const decoder = new MessageDecoder(limits, () => undefined);
    decoder.push(unknown.subarray(0, 7));
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe("handler behaviour", () => {
  it("keeps the remaining bytes when the handler throws and decodes them on the next push", () => {
    const seen: string[] = [];
    let failOnce = true;
    const decoder = new MessageDecoder(limits, (m) => {
      seen.push(m.type);
      if (m.type === "interested" && failOnce) {
        failOnce = false;
        throw new Error("handler failed");
      }
    });
    const bytes = Buffer.concat(["choke", "interested", "unchoke"].map((type) => encodeMessage({ type } as Message)));
    expect(thrown(() => decoder.push(bytes))).toEqual(new Error("handler failed"));
    expect(seen).toEqual(["choke", "interested"]);
    expect(decoder.bufferedBytes).toBe(5);
    decoder.push(encodeMessage({ type: "have_all" }));
    expect(seen).toEqual(["choke", "interested", "unchoke", "have_all"]);
  });

  it("does not fail the decoder when the handler throws a WireError of its own", () => {
    const decoder = new MessageDecoder(limits, () => {
      throw new WireError("BAD_BITFIELD", "handler rejected the bitfield");
    });
    expect(() => decoder.push(encodeMessage({ type: "choke" }))).toThrow(WireError);
    expect(() => decoder.push(encodeMessage({ type: "choke" }))).toThrow("handler rejected");
  });

  it("queues a chunk pushed from inside the handler behind the current one", () => {
    const seen: string[] = [];
    const decoder: MessageDecoder = new MessageDecoder(limits, (m) => {
      seen.push(m.type);
      if (m.type === "choke") decoder.push(encodeMessage({ type: "have_none" }));
    });
    decoder.push(Buffer.concat([encodeMessage({ type: "choke" }), encodeMessage({ type: "unchoke" })]));
    expect(seen).toEqual(["choke", "unchoke", "have_none"]);
  });

  it("applies a piece count set from inside the handler to the very next message", () => {
    const decoder: MessageDecoder = new MessageDecoder({ pieceCount: null }, (m) => {
      if (m.type === "extended") decoder.setPieceCount(4);
    });
    const bytes = Buffer.concat([
      encodeMessage({ type: "extended", id: 0, payload: Buffer.from("de") }),
      encodeMessage({ type: "have", index: 4 }),
    ]);
    expect((thrown(() => decoder.push(bytes)) as WireError).code).toBe("INDEX_OUT_OF_RANGE");
  });
});
