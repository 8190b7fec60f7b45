import type { Socket } from "node:net";

/**
 * Where a socket's bytes go, swappable as a connection moves from handshake to messages.
 *
 * Chunks may live in a read buffer that the socket reuses for its next read (net's `onread`):
 * the handler must copy whatever it keeps beyond the call. The wire decoders do (they copy split
 * messages), and the block scheduler copies blocks into piece buffers at once. Reusing one read
 * buffer per connection spares an allocation per read: at hundreds of MB/s, that is a gigabyte
 * of garbage per gigabyte downloaded. Chunks that arrive while no handler is set are copied and
 * replayed when one is.
 */
export class SocketInput {
  private handler: ((chunk: Buffer) => void) | undefined;
  private pending: Buffer[] = [];

  push(chunk: Buffer): void {
    if (this.handler) this.handler(chunk);
    else this.pending.push(Buffer.from(chunk));
  }

  setHandler(handler: ((chunk: Buffer) => void) | undefined): void {
    this.handler = handler;
    if (!handler) return;
    const pending = this.pending;
    this.pending = [];
    for (const c of pending) handler(c);
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
