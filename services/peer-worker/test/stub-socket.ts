import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { MessageDecoder, type Message } from "@shoal/wire";
import { MAX_BLOCK_BYTES, MAX_MESSAGE_BYTES, PeerConnection, type ConnectionHandlers } from "../src/connection.js";
import { SocketInput } from "@shoal/wire-net";

/**
 * A socket stand-in for connection-level tests. It decodes every byte written to it as peer-wire
 * messages, and `write` returns `writable`, so a test can play a peer whose receive window is
 * full: a real socket returns false once its send buffer passes the high-water mark, and emits
 * 'drain' when it empties.
 */
export class StubSocket extends EventEmitter {
  /** Every message written, in order. */
  readonly sent: Message[] = [];
  /** Calls of `write`; a corked batch still counts each call. */
  writes = 0;
  /** What `write` returns: false plays a full send buffer. */
  writable = true;
  /** A write returned false and 'drain' has not fired since, as on a net.Socket. */
  writableNeedDrain = false;
  destroyed = false;
  private readonly decoder: MessageDecoder;

  constructor(pieceCount: number) {
    super();
    this.decoder = new MessageDecoder({ pieceCount, maxBlockBytes: MAX_BLOCK_BYTES, maxMessageBytes: MAX_MESSAGE_BYTES }, (m) =>
      this.sent.push(m.type === "piece" ? { ...m, block: Buffer.from(m.block) } : m),
    );
  }

  write(chunk: Uint8Array): boolean {
    this.writes++;
    this.decoder.push(Buffer.from(chunk));
    if (!this.writable) this.writableNeedDrain = true;
    return this.writable;
  }

  cork(): void {}

  uncork(): void {}

  setTimeout(): this {
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    setImmediate(() => this.emit("close"));
    return this;
  }

  /** The send buffer emptied: writes succeed again and 'drain' fires, as on a real socket. */
  drain(): void {
    this.writable = true;
    this.writableNeedDrain = false;
    this.emit("drain");
  }

  /** Sent messages of one type. */
  sentOf<T extends Message["type"]>(type: T): Extract<Message, { type: T }>[] {
    return this.sent.filter((m): m is Extract<Message, { type: T }> => m.type === type);
  }

  asSocket(): Socket {
    return this as unknown as Socket;
  }
}

export interface StubConnectionOptions {
  readonly pieceCount: number;
  readonly key?: string;
  readonly fast?: boolean;
  readonly handlers?: Partial<ConnectionHandlers>;
  readonly now?: () => number;
}

/** A PeerConnection over a StubSocket, as the swarm makes one after a handshake. */
export function stubConnection(opts: StubConnectionOptions): { conn: PeerConnection; socket: StubSocket; input: SocketInput } {
  const socket = new StubSocket(opts.pieceCount);
  const input = new SocketInput();
  const handlers: ConnectionHandlers = { onMessage: () => undefined, onClose: () => undefined, onDrain: () => undefined, ...opts.handlers };
  const conn = new PeerConnection(
    socket.asSocket(),
    input,
    opts.key ?? "10.0.0.1:6881",
    Buffer.alloc(20, 7),
    opts.fast ?? true,
    false,
    false,
    opts.pieceCount,
    handlers,
    opts.now ?? (() => 0),
  );
  conn.start(Buffer.alloc(0));
  return { conn, socket, input };
}
