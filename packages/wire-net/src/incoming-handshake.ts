import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { MseHandshake, classifyIncoming, type Handshake, type Rc4 } from "@shoal/wire";
import { readHandshake } from "./handshake.js";
import { HandshakeFailure, mseMethodsFor, runMse, type EncryptionPolicy } from "./mse-session.js";
import type { SocketInput } from "./socket-input.js";

/** A BEP 3 handshake read from an accepted socket, and the cipher for what we send, if RC4 was chosen. */
export interface AcceptedHandshake {
  readonly handshake: Handshake;
  readonly rest: Buffer;
  readonly encrypt: Rc4 | null;
}

/**
 * Reads an incoming connection's handshake, plaintext or MSE (told apart by its first 20 bytes),
 * as `policy` allows. `infoHashes` lists the torrents we serve: an MSE initiator names one only
 * through a hash the responder must match against each. Rejects with a one-line reason.
 */
export async function acceptHandshake(
  socket: Socket,
  input: SocketInput,
  policy: EncryptionPolicy,
  infoHashes: () => Uint8Array[],
  timeoutMs: number,
): Promise<AcceptedHandshake> {
  const kind = await classifyStream(socket, input, timeoutMs);
  if (kind === "plaintext") {
    if (policy === "require") throw new HandshakeFailure("plaintext connection refused: encryption is required", "encryption");
    return { ...(await readHandshake(socket, input, timeoutMs)), encrypt: null };
  }
  if (policy === "disable") throw new HandshakeFailure("encrypted connection refused: encryption is disabled", "encryption");
  const machine = new MseHandshake({ role: "responder", allowed: mseMethodsFor(policy), infoHashes: infoHashes(), randomBytes });
  const mse = await runMse(socket, input, machine, timeoutMs);
  const { handshake, rest } = await readHandshake(socket, input, timeoutMs);
  if (!Buffer.from(handshake.infoHash).equals(Buffer.from(mse.infoHash))) {
    throw new HandshakeFailure("BEP 3 handshake names another torrent than the encrypted handshake", "handshake");
  }
  return { handshake, rest, encrypt: mse.encrypt };
}

/** Waits for enough of the first bytes to tell plaintext from MSE, then puts them back. */
function classifyStream(socket: Socket, input: SocketInput, timeoutMs: number): Promise<"plaintext" | "encrypted"> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const kind = classifyIncoming(seen);
      if (kind !== null) done(undefined, kind);
    };
    const onClose = () => done(new Error("connection closed during handshake"));
    const onError = (err: Error) => done(err);
    let settled = false;
    function done(err: Error | undefined, kind?: "plaintext" | "encrypted") {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.setHandler(undefined);
      socket.off("close", onClose).off("error", onError);
      if (err) return reject(new HandshakeFailure(err.message, "handshake"));
      input.unshift(seen);
      resolve(kind!);
    }
    socket.on("close", onClose).on("error", onError);
    input.setHandler(onData);
  });
}
