import type { Socket } from "node:net";
import { MSE_METHOD, type MseHandshake, type MseResult } from "@shoal/wire";
import type { SocketInput } from "./socket-input.js";

/**
 * What a service that talks to peers (the peer-worker for pieces, the tracker-poller for a
 * magnet link's metadata) does about Message Stream Encryption (`--encryption`, SHOAL_ENCRYPTION):
 * - prefer: dial encrypted (offering RC4 and plaintext, RC4 chosen when the peer allows it) and
 *   dial again in plaintext when the peer drops the encrypted handshake; accept both.
 * - require: RC4 only, in and out; plaintext peers are refused.
 * - disable: plaintext BEP 3 only, in and out.
 */
export const ENCRYPTION_POLICIES = ["prefer", "require", "disable"] as const;
export type EncryptionPolicy = (typeof ENCRYPTION_POLICIES)[number];

/** The MSE methods a policy offers (dialling) or accepts (answering); 0 means no MSE at all. */
export function mseMethodsFor(policy: EncryptionPolicy): number {
  if (policy === "disable") return 0;
  return policy === "require" ? MSE_METHOD.rc4 : MSE_METHOD.rc4 | MSE_METHOD.plaintext;
}

/** Where a dial or an accepted connection failed, which decides whether a plaintext retry can help. */
export type HandshakeStage = "connect" | "encryption" | "handshake";

export class HandshakeFailure extends Error {
  constructor(
    message: string,
    readonly stage: HandshakeStage,
  ) {
    super(message);
  }
}

/**
 * Runs an MSE machine over the socket until it finishes: its bytes are written as it produces
 * them and the peer's are pushed in. On success the socket input decrypts from the next byte on
 * (RC4), and the bytes that came with the end of the handshake (the initiator's initial payload
 * and whatever followed, decrypted) are put back in front of the stream for the BEP 3 handshake
 * reader. Any failure, the peer closing included, rejects with stage "encryption".
 */
export function runMse(socket: Socket, input: SocketInput, machine: MseHandshake, timeoutMs: number): Promise<MseResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no encrypted handshake within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      if (settled) return;
      try {
        const step = machine.push(chunk);
        if (step.send) socket.write(step.send);
        if (step.done) {
          if (step.done.decrypt) input.setDecipher(step.done.decrypt);
          finish(undefined, step.done);
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () => finish(new Error("peer closed the connection during the encrypted handshake"));
    const onError = (err: Error) => finish(err);
    function finish(err: Error | undefined, result?: MseResult) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.setHandler(undefined);
      socket.off("close", onClose).off("error", onError);
      if (err) return reject(new HandshakeFailure(err.message, "encryption"));
      input.unshift(Buffer.concat([result!.initialPayload, result!.rest]));
      resolve(result!);
    }
    socket.on("close", onClose).on("error", onError);
    const first = machine.start();
    if (first.length > 0) socket.write(first);
    input.setHandler(onData);
  });
}
