import fc from "fast-check";
import { MSE_DEFAULT_MAX_INITIAL_PAYLOAD_BYTES, MSE_MAX_PAD_BYTES, MseHandshake, WireError, encodeHandshake } from "@shoal/wire";
import { sample } from "../arbitraries.js";
import { Rng } from "../rng.js";
import { check, concatBytes, outcome, type FuzzTarget } from "../target.js";

const INFO_HASH = new Uint8Array(20).fill(0x5c);
const OTHER_HASH = new Uint8Array(20).fill(0x11);
/**
 * Most bytes a responder can take without finishing or failing: Ya, PadA, the two hashes, the
 * fixed fields, PadC, len(IA) and the largest IA it accepts.
 */
const MAX_HANDSHAKE_BYTES = 96 + MSE_MAX_PAD_BYTES + 20 + 20 + 14 + MSE_MAX_PAD_BYTES + 2 + MSE_DEFAULT_MAX_INITIAL_PAYLOAD_BYTES;

/** The same bytes for every run, so a valid initiator stream built below stays valid for the responder. */
function fixedRandom(salt: number): (n: number) => Uint8Array {
  const rng = new Rng(salt);
  return (n) => Uint8Array.from({ length: n }, () => rng.between(0, 255));
}

function documented(err: unknown): string | undefined {
  return err instanceof WireError && err.code.startsWith("MSE_") ? err.code : undefined;
}

const responder = () => new MseHandshake({ role: "responder", allowed: 3, infoHashes: [OTHER_HASH, INFO_HASH], randomBytes: fixedRandom(7) });

/** What a real initiator sends the fixed responder: Ya and PadA, then step 3 with `ia` and `tail`. */
function initiatorStream(allowed: number, ia: Uint8Array, tail: Uint8Array, salt: number): Uint8Array {
  const a = new MseHandshake({ role: "initiator", allowed, infoHash: INFO_HASH, initialPayload: ia, randomBytes: fixedRandom(salt) });
  const first = a.start();
  const yb = responder().push(first).send!;
  return concatBytes([first, a.push(yb).send!, tail]);
}

const stream = fc
  .record({
    allowed: fc.constantFrom(1, 2, 3),
    ia: fc.oneof(fc.constant(encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20) })), fc.uint8Array({ maxLength: 100 })),
    tail: fc.uint8Array({ maxLength: 64 }),
    salt: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map((s) => initiatorStream(s.allowed, s.ia, s.tail, s.salt));

/**
 * An MSE responder (the side that reads a stranger's first bytes) fed the input in chunks. It
 * must finish, fail with an MSE_* WireError (and stay failed), or wait; waiting is only allowed
 * while the input fits the public key and the padding window, since a sync hash cannot turn up
 * by chance.
 */
export const wireMseTarget: FuzzTarget = {
  name: "wire-mse",
  description: "MseHandshake as responder over chunked input: finishes, fails with an MSE_* WireError, or waits within the sync window",
  maxInputBytes: 4096,
  dictionary: [new Uint8Array(8), Uint8Array.of(0, 0, 0, 2), Uint8Array.of(0, 0, 0, 3), Uint8Array.of(0x02, 0x00), Uint8Array.of(0xff, 0xff)],
  seeds: () => [initiatorStream(3, encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: new Uint8Array(20) }), new Uint8Array(0), 1), new Uint8Array(96).fill(0xff)],
  generate: (seed, count) => sample(stream, seed, count),
  run(input) {
    return outcome(() => {
      const machine = responder();
      const rng = new Rng(input.length * 17 + (input[0] ?? 0));
      for (let at = 0; at < input.length; ) {
        const chunk = input.subarray(at, at + rng.between(1, 700));
        at += chunk.length;
        let step;
        try {
          step = machine.push(chunk);
        } catch (err) {
          let again: unknown;
          try {
            machine.push(Uint8Array.of(0));
          } catch (e) {
            again = e;
          }
          check(again === err, "a failed MSE machine did not rethrow its error");
          throw err;
        }
        if (step.done) {
          check(step.done.method === "rc4" || step.done.method === "plaintext", `unknown method ${String(step.done.method)}`);
          check(step.done.infoHash === INFO_HASH, "the responder finished for a torrent it was not given");
          return step.done.method;
        }
      }
      check(input.length < MAX_HANDSHAKE_BYTES, "the responder waits after more input than the handshake can take");
      return "waiting";
    }, documented);
  },
};
