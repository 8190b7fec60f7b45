import fc from "fast-check";
import {
  HANDSHAKE_LENGTH_BYTES,
  HandshakeDecoder,
  MessageDecoder,
  PROTOCOL_STRING,
  RESERVED_BITS,
  WireError,
  decodeHandshake,
  encodeHandshake,
  encodeMessage,
  type HandshakeResult,
} from "@shoal/wire";
import { sample } from "../arbitraries.js";
import { Rng } from "../rng.js";
import { ascii, bytesEqual, check, concatBytes, outcome, type FuzzTarget } from "../target.js";

const PREFIX = concatBytes([Uint8Array.of(PROTOCOL_STRING.length), ascii(PROTOCOL_STRING)]);

function documented(err: unknown): string | undefined {
  return err instanceof WireError && ["BAD_PROTOCOL", "BAD_LENGTH", "MESSAGE_TOO_LONG", "BAD_BITFIELD", "BAD_BLOCK_LENGTH", "INDEX_OUT_OF_RANGE"].includes(err.code)
    ? err.code
    : undefined;
}

/** The position of the first byte of the fixed 20-byte prefix that is wrong, or -1. */
function firstWrongPrefixByte(input: Uint8Array): number {
  for (let i = 0; i < Math.min(input.length, PREFIX.length); i++) if (input[i] !== PREFIX[i]) return i;
  return -1;
}

/** Pushes the input in chunks (sizes seeded by its length) and returns what the decoder said. */
function pushInChunks(input: Uint8Array): { result: HandshakeResult | null; error?: WireError; pushedAfter: Uint8Array } {
  const rng = new Rng(input.length * 31 + (input[input.length - 1] ?? 0));
  const decoder = new HandshakeDecoder();
  for (let at = 0; at < input.length; ) {
    const size = rng.between(1, 70);
    const chunk = input.slice(at, at + size);
    at += chunk.length;
    let result: HandshakeResult | null;
    try {
      result = decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof WireError) || err.code !== "BAD_PROTOCOL") throw err;
      let again: unknown;
      try {
        decoder.push(Uint8Array.of(0));
      } catch (e) {
        again = e;
      }
      check(again === err, "a failed handshake decoder did not rethrow its error");
      return { result: null, error: err, pushedAfter: input.subarray(at) };
    }
    if (result) {
      check(decoder.bufferedBytes === 0, "a finished handshake decoder still reports buffered bytes");
      let late: unknown;
      try {
        decoder.push(Uint8Array.of(1));
      } catch (e) {
        late = e;
      }
      check(late instanceof WireError && late.code === "INVALID_STATE", "pushing after the handshake did not throw INVALID_STATE");
      return { result, pushedAfter: input.subarray(at) };
    }
    check(decoder.bufferedBytes === at, `decoder holds ${decoder.bufferedBytes} bytes after ${at} were pushed`);
  }
  return { result: null, pushedAfter: new Uint8Array(0) };
}

const handshake = fc
  .record({
    reserved: fc.oneof(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.constant(RESERVED_BITS.make({ extensionProtocol: true, fast: true, dht: true }))),
    infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    peerId: fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.constant(ascii("-qB4650-abcdefghijkl"))),
    tail: fc.array(fc.constantFrom<Uint8Array>(encodeMessage({ type: "have_all" }), encodeMessage({ type: "unchoke" }), encodeMessage({ type: "extended", id: 0, payload: Buffer.from("de") })), { maxLength: 3 }),
  })
  .map((h) => concatBytes([encodeHandshake(h), ...h.tail]));

/**
 * decodeHandshake on the input, and a HandshakeDecoder fed the same bytes in chunks; both must
 * agree (success with the same fields, or BAD_PROTOCOL at the first wrong prefix byte, or
 * BAD_LENGTH / waiting while fewer than 68 bytes came). The decoder's `rest` must be exactly the
 * bytes after the handshake in its last chunk, and what follows is fed to a MessageDecoder with
 * an unknown piece count, as a connection does.
 */
export const wireHandshakeTarget: FuzzTarget = {
  name: "wire-handshake",
  description: "decodeHandshake and HandshakeDecoder (chunked) must agree; the rest goes to a MessageDecoder",
  maxInputBytes: 4096,
  dictionary: [PREFIX, ascii(PROTOCOL_STRING), Uint8Array.of(19), RESERVED_BITS.make({ extensionProtocol: true, fast: true }), Uint8Array.of(0, 0, 0, 1, 0x0e)],
  seeds: () => [
    encodeHandshake({ reserved: RESERVED_BITS.make({ extensionProtocol: true, fast: true }), infoHash: new Uint8Array(20).fill(0xab), peerId: ascii("-SH0100-000000000000") }),
    concatBytes([encodeHandshake({ reserved: new Uint8Array(8), infoHash: new Uint8Array(20), peerId: new Uint8Array(20) }), encodeMessage({ type: "bitfield", bits: Uint8Array.of(0xf0) })]),
    ascii("GET /announce HTTP/1.1\r\nHost: t\r\n\r\n"),
  ],
  generate: (seed, count) => sample(handshake, seed, count),
  run(input) {
    const wrong = firstWrongPrefixByte(input);
    const oneShot = outcome(() => {
      const h = decodeHandshake(input);
      check(bytesEqual(h.reserved, input.subarray(20, 28)) && bytesEqual(h.infoHash, input.subarray(28, 48)) && bytesEqual(h.peerId, input.subarray(48, 68)), "handshake fields are not the input's bytes");
      RESERVED_BITS.extensionProtocol(h.reserved);
      RESERVED_BITS.fast(h.reserved);
      RESERVED_BITS.dht(h.reserved);
      return "handshake";
    }, documented);
    const expected = input.length < HANDSHAKE_LENGTH_BYTES ? "error:BAD_LENGTH" : wrong >= 0 ? "error:BAD_PROTOCOL" : "ok:handshake";
    check(oneShot === expected, `decodeHandshake gave ${oneShot} where ${expected} was due`);

    const { result, error, pushedAfter } = pushInChunks(input);
    if (wrong >= 0) {
      check(error?.code === "BAD_PROTOCOL" && error.context["position"] === (wrong === 0 ? undefined : wrong), `HandshakeDecoder missed the wrong byte at ${wrong}`);
      return "bad-protocol";
    }
    check(error === undefined, "HandshakeDecoder refused a valid prefix");
    if (input.length < HANDSHAKE_LENGTH_BYTES) {
      check(result === null, "HandshakeDecoder finished a short handshake");
      return "short";
    }
    check(result !== null, "HandshakeDecoder did not finish a complete handshake");
    check(bytesEqual(concatBytes([result.rest, pushedAfter]), input.subarray(HANDSHAKE_LENGTH_BYTES)), "rest is not the bytes after the handshake");
    check(bytesEqual(result.handshake.infoHash, input.subarray(28, 48)), "HandshakeDecoder read another info hash");
    const messages = outcome(() => {
      let n = 0;
      const decoder = new MessageDecoder({ pieceCount: null }, () => void n++);
      decoder.push(result.rest);
      if (pushedAfter.length > 0) decoder.push(pushedAfter);
      return `${Math.min(n, 3)}`;
    }, documented);
    return `handshake|${messages}`;
  },
};
