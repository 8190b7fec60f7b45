import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HandshakeDecoder, MAX_PIECE_COUNT, MessageDecoder, WireError, encodeMessage } from "@shoal/wire";
import type { DecoderLimits, Message } from "@shoal/wire";
import { plain } from "./decode-helpers.js";
import type { PlainMessage } from "./decode-helpers.js";

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** Decoder limits small enough that random bytes often hit every rule. */
const limitsArb: fc.Arbitrary<DecoderLimits> = fc.record({
  pieceCount: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 64 }), fc.constant(MAX_PIECE_COUNT)),
  maxBlockBytes: fc.integer({ min: 1, max: 64 }),
  maxMessageBytes: fc.constantFrom(300_000, 1024 * 1024 + 13),
});

/** Splits `bytes` into fresh chunks of the given sizes, cycling through them; no sizes means one chunk. */
function chunked(bytes: Uint8Array, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const size = sizes.length === 0 ? bytes.length : Math.max(1, sizes[i++ % sizes.length]);
    chunks.push(Buffer.from(bytes.subarray(pos, pos + size)));
    pos += size;
  }
  return chunks;
}

const sizesArb = fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 });

/** A valid message for the given piece count (at least 1) and block limit. */
function messageArb(pieceCount: number, maxBlockBytes: number): fc.Arbitrary<Message> {
  const index = fc.integer({ min: 0, max: pieceCount - 1 });
  const blockLength = fc.integer({ min: 1, max: maxBlockBytes });
  const ranged = (type: "request" | "cancel" | "reject") =>
    fc.record({ type: fc.constant(type), index, begin: uint32, length: blockLength });
  const bitfieldBytes = Math.ceil(pieceCount / 8);
  const spare = bitfieldBytes * 8 - pieceCount;
  return fc.oneof(
    fc.constantFrom<Message>(
      { type: "keep_alive" },
      { type: "choke" },
      { type: "unchoke" },
      { type: "interested" },
      { type: "not_interested" },
      { type: "have_all" },
      { type: "have_none" },
    ),
    fc.record({ type: fc.constantFrom("have" as const, "suggest" as const, "allowed_fast" as const), index }),
    ranged("request"),
    ranged("cancel"),
    ranged("reject"),
    fc.record({
      type: fc.constant("piece" as const),
      index,
      begin: uint32,
      block: fc.uint8Array({ minLength: 1, maxLength: maxBlockBytes }).map((b) => Buffer.from(b)),
    }),
    fc.record({
      type: fc.constant("bitfield" as const),
      bits: fc.uint8Array({ minLength: bitfieldBytes, maxLength: bitfieldBytes }).map((b) => {
        const bits = Buffer.from(b);
        if (bits.length > 0) bits[bits.length - 1] &= (0xff << spare) & 0xff;
        return bits;
      }),
    }),
    fc.record({ type: fc.constant("port" as const), port: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({
      type: fc.constant("extended" as const),
      id: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    }),
  );
}

/** Garbage mixed with well-formed frames, so the fuzzer reaches past the length checks. */
const hostileStreamArb = fc
  .array(
    fc.oneof(
      // Raw garbage mostly fails on its first length prefix, so it is the rarest part.
      { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 },
      { arbitrary: messageArb(64, 64).map((m) => new Uint8Array(encodeMessage(m))), weight: 4 },
      {
        arbitrary: fc
          .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 }))
          .map(([length, id, rest]) => {
            const frame = Buffer.alloc(5 + rest.length);
            frame.writeUInt32BE(length, 0);
            frame[4] = id;
            frame.set(rest, 5);
            return new Uint8Array(frame);
          }),
        weight: 2,
      },
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.concat(parts));

describe("decoder properties", () => {
  it("turns any byte stream in any chunking into messages or a WireError, never another exception", () => {
    fc.assert(
      fc.property(limitsArb, hostileStreamArb, sizesArb, (limits, stream, sizes) => {
        const decoder = new MessageDecoder(limits, () => undefined);
        let failure: unknown = null;
        for (const chunk of chunked(stream, sizes)) {
          try {
            decoder.push(chunk);
          } catch (err) {
            if (!(err instanceof WireError)) throw err;
            failure = err;
            break;
          }
        }
        if (failure !== null) {
          // A failed decoder stays failed with the same error.
          expect(() => decoder.push(Buffer.from([0, 0, 0, 0]))).toThrow(failure as Error);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes the same messages however a stream is chunked", () => {
    fc.assert(
      fc.property(limitsArb, hostileStreamArb, sizesArb, (limits, stream, sizes) => {
        const run = (chunks: readonly Buffer[]): [PlainMessage[], string | null] => {
          const seen: PlainMessage[] = [];
          const decoder = new MessageDecoder(limits, (m) => seen.push(plain(m)));
          try {
            for (const chunk of chunks) decoder.push(chunk);
          } catch (err) {
            return [seen, (err as WireError).code];
          }
          return [seen, null];
        };
        expect(run(chunked(stream, sizes))).toEqual(run([stream]));
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes any sequence of valid messages to itself regardless of chunking", () => {
    const caseArb = fc
      .record({ pieceCount: fc.integer({ min: 1, max: 300 }), maxBlockBytes: fc.integer({ min: 1, max: 2048 }) })
      .chain(({ pieceCount, maxBlockBytes }) =>
        fc.record({
          pieceCount: fc.constant(pieceCount),
          maxBlockBytes: fc.constant(maxBlockBytes),
          messages: fc.array(messageArb(pieceCount, maxBlockBytes), { maxLength: 40 }),
          sizes: fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 20 }),
        }),
      );
    fc.assert(
      fc.property(caseArb, ({ pieceCount, maxBlockBytes, messages, sizes }) => {
        const seen: PlainMessage[] = [];
        const decoder = new MessageDecoder({ pieceCount, maxBlockBytes }, (m) => seen.push(plain(m)));
        const stream = Buffer.concat(messages.map(encodeMessage));
        for (const chunk of chunked(stream, sizes)) decoder.push(chunk);
        expect(seen).toEqual(messages.map(plain));
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("turns any bytes into a handshake, null or a WireError in the handshake phase", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), sizesArb, (bytes, sizes) => {
        const decoder = new HandshakeDecoder();
        for (const chunk of chunked(bytes, sizes)) {
          try {
            if (decoder.push(chunk) !== null) return;
          } catch (err) {
            expect(err).toBeInstanceOf(WireError);
            return;
          }
        }
      }),
    );
  });
});
