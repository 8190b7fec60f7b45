import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { HandshakeDecoder, MseHandshake, RESERVED_BITS, encodeHandshake, type Handshake, type Rc4 } from "@shoal/wire";
import { HandshakeFailure, runMse } from "./mse-session.js";
import { READ_BUFFER_BYTES, SocketInput } from "./socket-input.js";

export interface Handshaken {
  readonly socket: Socket;
  readonly input: SocketInput;
  readonly handshake: Handshake;
  /** Bytes that arrived after the handshake in the same read. */
  readonly rest: Buffer;
  /** Encrypts what we send when the connection is RC4 (MSE); null for plaintext. */
  readonly encrypt: Rc4 | null;
}

/** Our reserved bits: BEP 10 extension protocol and BEP 6 fast extension. */
export const OUR_RESERVED = RESERVED_BITS.make({ extensionProtocol: true, fast: true });

/**
 * Reads the peer's handshake from `input`, failing after `timeoutMs`. Bytes after the handshake
 * are returned as a copy (the read buffer may be reused).
 */
export function readHandshake(socket: Socket, input: SocketInput, timeoutMs: number): Promise<{ handshake: Handshake; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const decoder = new HandshakeDecoder();
    const timer = setTimeout(() => done(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      try {
        const r = decoder.push(chunk);
        if (r) done(undefined, { handshake: r.handshake, rest: Buffer.from(r.rest) });
      } catch (err) {
        done(err as Error);
      }
    };
    const onClose = () => done(new Error("connection closed during handshake"));
    const onError = (err: Error) => done(err);
    function done(err: Error | undefined, r?: { handshake: Handshake; rest: Buffer }) {
      clearTimeout(timer);
      input.setHandler(undefined);
      socket.off("close", onClose).off("error", onError);
      if (err) reject(err);
      else resolve(r!);
    }
    socket.on("close", onClose).on("error", onError);
    input.setHandler(onData);
  });
}

/**
 * Dials a peer, exchanges handshakes and checks the info hash. With `mseMethods` (a mask of
 * MSE_METHOD bits) the connection opens with Message Stream Encryption and our BEP 3 handshake
 * rides inside it as the initial payload; 0 dials plaintext. Failures carry the stage they
 * happened in: a peer that drops the encrypted handshake fails in stage "encryption".
 */
export function dialPeer(
  ip: string,
  port: number,
  infoHash: Uint8Array,
  peerId: Uint8Array,
  timeoutMs: number,
  mseMethods = 0,
  localAddress?: string,
): Promise<Handshaken> {
  return new Promise((resolve, reject) => {
    const input = new SocketInput();
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = connect({
      host: ip,
      port,
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
      onread: {
        buffer: readBuffer,
        callback: (n: number) => {
          input.push(readBuffer.subarray(0, n));
          return true;
        },
      },
    });
    const timer = setTimeout(() => fail(new HandshakeFailure(`connect timed out after ${timeoutMs} ms`, "connect")), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err instanceof HandshakeFailure ? err : new HandshakeFailure(err.message, "connect"));
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      // An error after connect is handled by whichever reader runs; this keeps a late one from throwing.
      socket.on("error", () => socket.destroy());
      void handshake(socket, input, infoHash, peerId, timeoutMs, mseMethods).then(
        (h) => resolve({ socket, input, ...h }),
        (err: Error) => {
          socket.destroy();
          reject(err instanceof HandshakeFailure ? err : new HandshakeFailure(err.message, "handshake"));
        },
      );
    });
  });
}

async function handshake(
  socket: Socket,
  input: SocketInput,
  infoHash: Uint8Array,
  peerId: Uint8Array,
  timeoutMs: number,
  mseMethods: number,
): Promise<{ handshake: Handshake; rest: Buffer; encrypt: Rc4 | null }> {
  const ours = encodeHandshake({ reserved: OUR_RESERVED, infoHash, peerId });
  let encrypt: Rc4 | null = null;
  if (mseMethods !== 0) {
    const machine = new MseHandshake({ role: "initiator", allowed: mseMethods, infoHash, initialPayload: ours, randomBytes });
    encrypt = (await runMse(socket, input, machine, timeoutMs)).encrypt;
  } else {
    socket.write(ours);
  }
  const { handshake, rest } = await readHandshake(socket, input, timeoutMs);
  if (!Buffer.from(handshake.infoHash).equals(Buffer.from(infoHash))) throw new HandshakeFailure("peer answered with another info hash", "handshake");
  return { handshake, rest, encrypt };
}
