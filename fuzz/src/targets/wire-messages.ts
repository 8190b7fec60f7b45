import fc from "fast-check";
import { MAX_PIECE_COUNT, MessageDecoder, WireError, encodeMessage, type DecoderLimits, type Message } from "@shoal/wire";
import { sample } from "../arbitraries.js";
import { Rng } from "../rng.js";
import { bytesEqual, check, concatBytes, type FuzzTarget } from "../target.js";

/*
 * An input is four bytes of decoder set-up followed by the byte stream a peer sends:
 *   [0] piece count, [1] largest block, [2] largest message, [3] seed of the chunk sizes.
 * The set-up lives in the input so a saved finding replays exactly.
 */
const HEADER_BYTES = 4;
const PIECE_COUNTS: readonly (number | null)[] = [null, 0, 1, 7, 8, 9, 64, 1000, MAX_PIECE_COUNT];
const BLOCK_SIZES = [1, 16, 16384, 32768];
const WIRE_ERROR_CODES = ["BAD_PROTOCOL", "MESSAGE_TOO_LONG", "BAD_LENGTH", "BAD_BITFIELD", "BAD_BLOCK_LENGTH", "INDEX_OUT_OF_RANGE"];

export function limitsOf(header: Uint8Array): DecoderLimits & { maxBlockBytes: number; maxMessageBytes: number } {
  const pieceCount = PIECE_COUNTS[(header[0] ?? 0) % PIECE_COUNTS.length]!;
  const maxBlockBytes = BLOCK_SIZES[(header[1] ?? 0) % BLOCK_SIZES.length]!;
  // The smallest maxMessageBytes the decoder accepts for these limits, then some headroom.
  const smallest = Math.max(9 + maxBlockBytes, pieceCount === null ? 0 : 1 + Math.ceil(pieceCount / 8));
  const maxMessageBytes = [1024 * 1024 + 13, smallest, smallest + 100][(header[2] ?? 0) % 3]!;
  return { pieceCount, maxBlockBytes, maxMessageBytes };
}

interface Decoded {
  readonly encoded: Buffer[];
  readonly types: string[];
  readonly error: WireError | undefined;
  readonly skipped: number;
  readonly buffered: number;
}

/** Checks one delivered message against the limits the decoder was given. */
function checkMessage(m: Message, limits: ReturnType<typeof limitsOf>): void {
  const cap = limits.pieceCount ?? MAX_PIECE_COUNT;
  if ("index" in m) check(Number.isInteger(m.index) && m.index >= 0 && m.index < cap, `${m.type} index ${m.index} not below ${cap}`);
  if ("length" in m) check(m.length >= 1 && m.length <= limits.maxBlockBytes, `${m.type} length ${m.length}`);
  if (m.type === "piece") check(m.block.length >= 1 && m.block.length <= limits.maxBlockBytes, `piece block of ${m.block.length} bytes`);
  if (m.type === "bitfield" && limits.pieceCount !== null) {
    check(m.bits.length === Math.ceil(limits.pieceCount / 8), `bitfield of ${m.bits.length} bytes for ${limits.pieceCount} pieces`);
  }
  if (m.type === "port") check(m.port >= 0 && m.port <= 0xffff, `port ${m.port}`);
}

/** Pushes `chunks` through a fresh decoder, checking its memory bound after every push. */
function decodeStream(chunks: readonly Uint8Array[], limits: ReturnType<typeof limitsOf>): Decoded {
  const encoded: Buffer[] = [];
  const types: string[] = [];
  const decoder = new MessageDecoder(limits, (m) => {
    checkMessage(m, limits);
    types.push(m.type);
    encoded.push(encodeMessage(m));
  });
  let error: WireError | undefined;
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof WireError) || !WIRE_ERROR_CODES.includes(err.code)) throw err;
      error = err;
      break;
    }
    check(decoder.bufferedBytes <= 4 + limits.maxMessageBytes, `decoder holds ${decoder.bufferedBytes} bytes`);
  }
  if (error) {
    let again: unknown;
    try {
      decoder.push(new Uint8Array(1));
    } catch (err) {
      again = err;
    }
    check(again === error, "a failed decoder did not rethrow its error on the next push");
  }
  return { encoded, types, error, skipped: decoder.skippedMessageCount, buffered: decoder.bufferedBytes };
}

function chunksOf(stream: Uint8Array, seed: number): Uint8Array[] {
  const rng = new Rng(seed * 7919 + stream.length);
  const largest = 1 + (seed % 40);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; ) {
    const size = rng.between(1, largest);
    // Fresh copies: the decoder may keep views into a chunk, and a chunk must not change after it was pushed.
    chunks.push(stream.slice(at, at + size));
    at += size;
  }
  return chunks;
}

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const smallIndex = fc.oneof(fc.integer({ min: 0, max: 70 }), uint32);
const blockLength = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(16384, 16385, 32768));

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>({ type: "keep_alive" }, { type: "choke" }, { type: "unchoke" }, { type: "interested" }, { type: "not_interested" }, { type: "have_all" }, { type: "have_none" }),
  fc.record({ type: fc.constantFrom("have" as const, "suggest" as const, "allowed_fast" as const), index: smallIndex }),
  fc.record({ type: fc.constantFrom("request" as const, "cancel" as const, "reject" as const), index: smallIndex, begin: uint32, length: blockLength }),
  fc.record({ type: fc.constant("piece" as const), index: smallIndex, begin: uint32, block: fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => Buffer.from(b)) }),
  fc.record({ type: fc.constant("bitfield" as const), bits: fc.uint8Array({ maxLength: 140 }) }),
  fc.record({ type: fc.constant("port" as const), port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ type: fc.constant("extended" as const), id: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)) }),
);

/** A length prefix and id the codec does not know (BEP 52 hash messages, future extensions). */
const unknownMessage = fc
  .tuple(fc.constantFrom(10, 11, 12, 19, 21, 0x15, 0xff), fc.uint8Array({ maxLength: 30 }))
  .map(([id, body]) => concatBytes([Uint8Array.of(0, 0, (body.length + 1) >> 8, (body.length + 1) & 0xff, id), body]));

const stream = fc
  .tuple(
    fc.uint8Array({ minLength: HEADER_BYTES, maxLength: HEADER_BYTES }),
    fc.array(fc.oneof({ weight: 6, arbitrary: message.map((m) => encodeSafely(m)) }, { weight: 1, arbitrary: unknownMessage }), { maxLength: 12 }),
  )
  .map(([header, parts]) => concatBytes([header, ...parts]));

/** Encodes a generated message; one the encoder refuses (a block too large for a prefix) becomes a keep-alive. */
function encodeSafely(m: Message): Uint8Array {
  try {
    return encodeMessage(m);
  } catch {
    return new Uint8Array(4);
  }
}

/**
 * The message decoder over one stream, pushed whole and pushed in small chunks. Both must
 * deliver the same messages, stop with the same WireError code and skip the same unknown
 * messages; every message respects the limits; the decoder never holds more than one message;
 * a failed decoder rethrows its error; and with nothing skipped, the messages re-encode to
 * exactly the bytes consumed.
 */
export const wireMessagesTarget: FuzzTarget = {
  name: "wire-messages",
  description: "MessageDecoder pushed whole and in chunks under varied limits; differential and re-encoding checks",
  maxInputBytes: 64 * 1024,
  dictionary: [
    Uint8Array.of(0, 0, 0, 0),
    Uint8Array.of(0, 0, 0, 1),
    Uint8Array.of(0, 0, 0, 5, 4),
    Uint8Array.of(0, 0, 0, 13, 6),
    Uint8Array.of(0, 0, 0, 9, 7),
    Uint8Array.of(0, 0, 0, 3, 9),
    Uint8Array.of(0, 0, 0, 2, 20),
    Uint8Array.of(0, 0, 0, 2, 20, 0),
    Uint8Array.of(0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0, 0x10, 0, 0x0d),
  ],
  seeds() {
    const header = Uint8Array.of(6, 2, 0, 7);
    const messages: Message[] = [
      { type: "bitfield", bits: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) },
      { type: "unchoke" },
      { type: "have", index: 3 },
      { type: "request", index: 1, begin: 0, length: 16384 },
      { type: "piece", index: 1, begin: 16, block: Buffer.from("block bytes") },
      { type: "extended", id: 0, payload: Buffer.from("d1:md11:ut_metadatai2eee") },
      { type: "port", port: 6881 },
      { type: "keep_alive" },
      { type: "reject", index: 2, begin: 0, length: 16 },
    ];
    return [concatBytes([header, ...messages.map((m) => encodeMessage(m))]), concatBytes([Uint8Array.of(0, 0, 0, 1), ...messages.map((m) => encodeMessage(m))])];
  },
  generate: (seed, count) => sample(stream, seed, count),
  run(input) {
    const header = input.subarray(0, HEADER_BYTES);
    const body = input.subarray(HEADER_BYTES);
    const limits = limitsOf(header);
    const whole = decodeStream(body.length > 0 ? [body.slice()] : [], limits);
    const chunked = decodeStream(chunksOf(body, header[3] ?? 0), limits);
    check(whole.encoded.length === chunked.encoded.length, `whole push gave ${whole.encoded.length} messages, chunked ${chunked.encoded.length}`);
    whole.encoded.forEach((m, i) => check(bytesEqual(m, chunked.encoded[i]!), `message ${i} differs between whole and chunked pushes`));
    check(whole.error?.code === chunked.error?.code, `whole push ended with ${whole.error?.code}, chunked with ${chunked.error?.code}`);
    check(whole.skipped === chunked.skipped, "whole and chunked pushes skipped different messages");
    if (whole.skipped === 0) {
      const consumed = concatBytes(whole.encoded);
      check(bytesEqual(consumed, body.subarray(0, consumed.length)), "delivered messages do not re-encode to the stream");
      if (!whole.error) check(consumed.length + whole.buffered === body.length, "delivered plus buffered bytes do not add up to the stream");
    }
    return `${whole.error ? whole.error.code : "clean"}|${whole.types[whole.types.length - 1] ?? "none"}|${whole.skipped > 0 ? "skipped" : "all"}`;
  },
};
