import { connect, type Socket } from "node:net";
import { HandshakeDecoder, RESERVED_BITS, encodeHandshake, type Handshake } from "@shoal/wire";
import { READ_BUFFER_BYTES, SocketInput } from "./socket-input.js";

export interface Handshaken {
  readonly socket: Socket;
  readonly input: SocketInput;
  readonly handshake: Handshake;
  /** Bytes that arrived after the handshake in the same read. */
  readonly rest: Buffer;
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

/** Dials a peer, exchanges handshakes and checks the info hash. */
export function dialPeer(
  ip: string,
  port: number,
  infoHash: Uint8Array,
  peerId: Uint8Array,
  timeoutMs: number,
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
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      socket.write(encodeHandshake({ reserved: OUR_RESERVED, infoHash, peerId }));
      readHandshake(socket, input, timeoutMs).then(
        ({ handshake, rest }) => {
          if (!Buffer.from(handshake.infoHash).equals(Buffer.from(infoHash))) {
            socket.destroy();
            reject(new Error("peer answered with another info hash"));
            return;
          }
          resolve({ socket, input, handshake, rest });
        },
        (err: Error) => {
          socket.destroy();
          reject(err);
        },
      );
    });
  });
}
