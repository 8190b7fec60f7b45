import type { Socket } from "node:net";
import type { Rc4 } from "@shoal/wire";

/**
 * Where a socket's bytes go, swappable as a connection moves from handshake to messages.
 *
 * Chunks may live in a read buffer that the socket reuses for its next read (net's `onread`):
 * the handler must copy whatever it keeps beyond the call. The wire decoders do (they copy split
 * messages), and the block scheduler copies blocks into piece buffers at once. Reusing one read
 * buffer per connection spares an allocation per read: at hundreds of MB/s, that is a gigabyte
 * of garbage per gigabyte downloaded. Chunks that arrive while no handler is set are copied and
 * replayed when one is.
 *
 * On an RC4-encrypted connection (MSE) every chunk is decrypted in place as it arrives, before any
 * handler sees it: the read buffer is ours, so the plaintext path keeps reading without a copy.
 */
export class SocketInput {
  private handler: ((chunk: Buffer) => void) | undefined;
  private pending: Buffer[] = [];
  private decipher: Rc4 | null = null;

  push(chunk: Buffer): void {
    this.decipher?.process(chunk);
    if (this.handler) this.handler(chunk);
    else this.pending.push(Buffer.from(chunk));
  }

  /**
   * Sets the handler and replays what arrived meanwhile. A handler that hands over to another
   * (the handshake reader to the connection) during the replay leaves the remaining chunks to it.
   */
  setHandler(handler: ((chunk: Buffer) => void) | undefined): void {
    this.handler = handler;
    while (handler !== undefined && this.handler === handler && this.pending.length > 0) handler(this.pending.shift()!);
  }

  /**
   * From now on chunks are decrypted with `decipher`. Set inside the handler that consumed the
   * last encrypted handshake byte, so the keystream lines up with the very next chunk.
   */
  setDecipher(decipher: Rc4): void {
    this.decipher = decipher;
  }

  /** Puts bytes (already decrypted) back in front of the stream, for the next handler. Only while none is set. */
  unshift(chunk: Uint8Array): void {
    if (this.handler) throw new Error("SocketInput.unshift while a handler is set");
    if (chunk.length > 0) this.pending.unshift(Buffer.from(chunk));
  }

  /** For sockets without a reused buffer (accepted connections): feed from 'data' events. */
  static fromDataEvents(socket: Socket): SocketInput {
    const input = new SocketInput();
    socket.on("data", (chunk: Buffer) => input.push(chunk));
    return input;
  }
}

/**
 * Bytes read per socket read. Twice Node's default chunk size: half as many reads and callbacks
 * per byte, and an eighth rather than a quarter of 16 KiB blocks straddle two reads. 80
 * connections hold at most 10 MiB of them, and only connections that receive fast fill theirs.
 */
export const READ_BUFFER_BYTES = 128 * 1024;
