import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import {
  HandshakeDecoder,
  MessageDecoder,
  RESERVED_BITS,
  encodeHandshake,
  encodeMessage,
  type Handshake,
  type Message,
} from "@shoal/wire";

/** The decoder limits of our fakes: the same block and message bounds the worker applies. */
const MAX_BLOCK_BYTES = 16 * 1024;
const MAX_MESSAGE_BYTES = 1024 * 1024 + 13;
/** A fake gives up on a handshake after this long; the worker answers loopback dials at once. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

export interface SessionOptions {
  /** BEP 6 bit in our handshake. */
  readonly fast?: boolean;
  /** BEP 10 bit in our handshake. */
  readonly extended?: boolean;
  readonly peerId?: Uint8Array;
}

/** A fake client's peer id: Azureus style, so logs show which side is the fake. */
export function fakePeerId(): Buffer {
  return Buffer.concat([Buffer.from("-FK0001-"), Buffer.from(randomBytes(6).toString("hex"))]);
}

/**
 * One live peer-wire connection of a fake peer, after the handshake. It records every message
 * the other side sends, can wait for one with a deadline, and can write well-formed or raw bytes
 * (hostile peers write what no encoder would).
 */
export class WireSession extends EventEmitter {
  readonly received: Message[] = [];
  /** Why the connection ended: `remote` when the other side closed it, `local` when we did. */
  closedBy: "remote" | "local" | undefined;
  decodeError: Error | undefined;
  private readonly decoder: MessageDecoder;

  constructor(
    readonly socket: Socket,
    readonly remote: Handshake,
    pieceCount: number,
    rest: Buffer,
  ) {
    super();
    this.decoder = new MessageDecoder({ pieceCount, maxBlockBytes: MAX_BLOCK_BYTES, maxMessageBytes: MAX_MESSAGE_BYTES }, (m) => {
      // Blocks are views into socket chunks: keep a copy so the log stays valid.
      const kept: Message = m.type === "piece" ? { ...m, block: Buffer.from(m.block) } : m;
      this.received.push(kept);
      this.emit("message", kept);
    });
    socket.on("data", (chunk: Buffer) => this.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closedBy ??= "remote";
      this.emit("close", this.closedBy);
    });
    if (rest.length > 0) this.push(rest);
  }

  get remoteFast(): boolean {
    return RESERVED_BITS.fast(this.remote.reserved);
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  send(msg: Message): void {
    // encodeMessage checks field ranges but not sizes against the torrent: hostile fakes rely on that.
    this.sendRaw(encodeMessage(msg));
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Index of the next message to arrive: pass it as `since` to wait only for later ones. */
  mark(): number {
    return this.received.length;
  }

  /** The first message at or after `since` matching `pred`, waiting up to `timeoutMs`. */
  waitForMessage<T extends Message>(pred: (m: Message) => m is T, timeoutMs: number, since?: number): Promise<T>;
  waitForMessage(pred: (m: Message) => boolean, timeoutMs: number, since?: number): Promise<Message>;
  waitForMessage(pred: (m: Message) => boolean, timeoutMs: number, since = 0): Promise<Message> {
    const found = this.received.slice(since).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("message", onMessage).off("close", onClose);
        const seen = this.received.slice(since).map((m) => m.type).join(", ") || "nothing";
        reject(new Error(`no matching message within ${timeoutMs} ms (saw: ${seen})`));
      }, timeoutMs);
      const onMessage = (m: Message) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.off("message", onMessage).off("close", onClose);
        resolve(m);
      };
      const onClose = () => {
        clearTimeout(timer);
        this.off("message", onMessage).off("close", onClose);
        reject(new Error(`connection closed (by ${this.closedBy}) before a matching message arrived`));
      };
      this.on("message", onMessage).on("close", onClose);
    });
  }

  /** Resolves with who closed the connection once it is closed, or rejects after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<"remote" | "local"> {
    if (this.closedBy && this.socket.destroyed) return Promise.resolve(this.closedBy);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.once("close", (by: "remote" | "local") => {
        clearTimeout(timer);
        resolve(by);
      });
    });
  }

  close(): void {
    this.closedBy ??= "local";
    this.socket.destroy();
  }

  private push(chunk: Buffer): void {
    if (this.decodeError) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.decodeError = err as Error;
      this.emit("decode-error", err);
    }
  }
}

/** Reads the other side's 68-byte handshake from a fresh socket. */
export function readHandshake(socket: Socket): Promise<{ handshake: Handshake; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const decoder = new HandshakeDecoder();
    const timer = setTimeout(() => done(new Error(`no handshake within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      try {
        const r = decoder.push(chunk);
        if (r) done(undefined, r);
      } catch (err) {
        done(err as Error);
      }
    };
    const onClose = () => done(new Error("connection closed during the handshake"));
    function done(err: Error | undefined, r?: { handshake: Handshake; rest: Buffer }) {
      clearTimeout(timer);
      socket.off("data", onData).off("close", onClose);
      if (err) reject(err);
      else resolve({ handshake: r!.handshake, rest: Buffer.from(r!.rest) });
    }
    socket.on("data", onData).on("close", onClose);
  });
}

export function ourHandshake(infoHash: Uint8Array, opts: SessionOptions): Buffer {
  return encodeHandshake({
    reserved: RESERVED_BITS.make({ fast: opts.fast ?? false, extensionProtocol: opts.extended ?? false }),
    infoHash,
    peerId: opts.peerId ?? fakePeerId(),
  });
}

/** A fake leecher: dials the worker, handshakes for `infoHash` and returns the live session. */
export async function dialWorker(
  host: string,
  port: number,
  infoHash: Uint8Array,
  pieceCount: number,
  opts: SessionOptions & { readonly localAddress?: string } = {},
): Promise<WireSession> {
  const socket = connect({ host, port, noDelay: true, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(ourHandshake(infoHash, opts));
  try {
    const { handshake, rest } = await readHandshake(socket);
    return new WireSession(socket, handshake, pieceCount, rest);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
