import type { Socket } from "node:net";
import {
  Bitfield,
  MessageDecoder,
  encodeMessage,
  encodePieceHeader,
  writeRequest,
  KEEP_ALIVE,
  REQUEST_MESSAGE_BYTES,
  type Message,
  type Rc4,
} from "@shoal/wire";
import type { RateLimit } from "./bandwidth-limiter.js";
import { RateMeter } from "./rate-meter.js";
import type { SocketInput } from "@shoal/wire-net";

/** Largest block a peer may send us or ask of us: the BEP 3 block size everybody uses. */
export const MAX_BLOCK_BYTES = 16 * 1024;
/** A length prefix above this closes the connection (bitfields of 2M pieces are 256 KiB; metadata pieces 16 KiB). */
export const MAX_MESSAGE_BYTES = 1024 * 1024 + 13;
/**
 * Requests encoded into one buffer before they are written. A fill sends up to a few hundred
 * 17-byte requests; one socket write for a batch costs far less than a write and a Buffer each.
 * 128 of them (2,176 bytes) still come from Node's shared allocation pool.
 */
const REQUEST_BATCH = 128;

export interface ConnectionHandlers {
  onMessage(conn: PeerConnection, msg: Message): void;
  onClose(conn: PeerConnection, reason: string): void;
  /** The send buffer drained after a full write: requests may go out again. */
  onDrain(conn: PeerConnection): void;
}

/**
 * One live socket to a peer after a successful handshake: wire state, request bookkeeping and
 * rates. It decodes and encodes; what to do with messages is the swarm's decision.
 */
export class PeerConnection {
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  readonly bitfield: Bitfield;
  /** Blocks requested from this peer and not yet received: block key -> time sent. */
  readonly outstanding = new Map<number, number>();
  /** Pieces this connection has blocks requested in (for finishing what it started). */
  readonly activePieces = new Set<number>();
  /** Max requests the peer says it queues (BEP 10 `reqq`); libtorrent's default when unknown. */
  peerRequestQueue = 250;
  readonly download: RateMeter;
  readonly upload: RateMeter;
  lastReceivedAt: number;
  lastSentAt: number;
  /** Last time a requested block arrived, or the time requests started waiting. */
  lastBlockAt: number;
  snubbed = false;
  /** How many pieces it has that we lack: interest without scanning bitfields. */
  interestingPieces = 0;
  /** Requests the peer made of us, waiting to be served. */
  readonly uploadQueue: { index: number; begin: number; length: number }[] = [];
  uploading = false;
  closed = false;
  /** The worker's download limit: reads pause while it is spent. */
  downloadLimiter: RateLimit | undefined;
  private pausedForLimit = false;
  /**
   * A write found the send buffer full and it has not drained yet. Requests (up to hundreds a
   * connection) and HAVEs (one per piece) wait meanwhile, so a peer that stops reading cannot
   * grow our memory without bound; control messages are a few bytes and still go out.
   */
  congested = false;
  /** HAVEs held back while congested, in order; they go out together on drain, none dropped. */
  private readonly heldHaves: number[] = [];
  private readonly decoder: MessageDecoder;
  /** Requests encoded but not yet written, and how many (written by the end of this tick). */
  private requestBatch: Buffer | undefined;
  private batchedRequests = 0;

  constructor(
    readonly socket: Socket,
    private readonly input: SocketInput,
    readonly key: string,
    readonly peerId: Uint8Array,
    readonly fast: boolean,
    readonly extended: boolean,
    readonly outgoing: boolean,
    pieceCount: number,
    private readonly handlers: ConnectionHandlers,
    private readonly now: () => number,
    /**
     * The RC4 stream for what we send on an encrypted (MSE) connection; null for plaintext. Every
     * byte written goes through it, in the order written: all writes pass `seal`.
     */
    private readonly cipher: Rc4 | null = null,
  ) {
    this.bitfield = new Bitfield(pieceCount);
    this.download = new RateMeter(now);
    this.upload = new RateMeter(now);
    this.lastReceivedAt = this.lastSentAt = this.lastBlockAt = now();
    this.decoder = new MessageDecoder(
      { pieceCount, maxBlockBytes: MAX_BLOCK_BYTES, maxMessageBytes: MAX_MESSAGE_BYTES },
      (msg) => {
        if (!this.closed) this.handlers.onMessage(this, msg);
      },
      // The scheduler copies every block into its piece buffer before the handler returns.
      { reuseBlockBuffer: true },
    );
    socket.on("error", (err) => this.close(`socket error: ${err.message}`));
    socket.on("close", () => this.close("connection closed by peer"));
  }

  /**
   * Starts reading, once the swarm has registered the connection and sent our first messages (BEP 6
   * wants our bitfield before anything the peer's messages make us say): first the bytes that came
   * with the handshake, then whatever the socket buffered since, in the order it arrived.
   */
  start(rest: Buffer): void {
    if (rest.length > 0) this.onData(rest);
    this.input.setHandler((chunk) => this.onData(chunk));
  }

  /** Bytes from the socket (possibly in a reused read buffer: the decoders copy what they keep). */
  onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReceivedAt = this.now();
    const limiter = this.downloadLimiter;
    if (limiter && !limiter.unlimited) {
      limiter.consume(chunk.length);
      if (!this.pausedForLimit && !limiter.ready()) {
        // The kernel keeps what arrives meanwhile; once its buffer is full TCP slows the peer.
        this.pausedForLimit = true;
        this.socket.pause();
        limiter.whenReady(() => {
          this.pausedForLimit = false;
          if (!this.closed) this.socket.resume();
        });
      }
    }
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.close(`protocol violation: ${(err as Error).message}`);
    }
  }

  /** The connection is RC4-encrypted (MSE). */
  get encrypted(): boolean {
    return this.cipher !== null;
  }

  send(msg: Message): void {
    this.write(encodeMessage(msg), true);
  }

  /**
   * Queues a request; queued requests go out in one write at the end of this tick, or earlier
   * when the batch is full or another message is sent (messages keep their order).
   */
  sendRequest(index: number, begin: number, length: number): void {
    if (this.closed) return;
    if (this.requestBatch === undefined) {
      this.requestBatch = Buffer.allocUnsafe(REQUEST_BATCH * REQUEST_MESSAGE_BYTES);
      queueMicrotask(() => this.flushRequests());
    }
    writeRequest(this.requestBatch, this.batchedRequests * REQUEST_MESSAGE_BYTES, index, begin, length);
    if (++this.batchedRequests === REQUEST_BATCH) this.flushRequests();
  }

  /** Announces a piece we now have; held while the send buffer is full. */
  sendHave(index: number): void {
    if (this.congested) this.heldHaves.push(index);
    else this.send({ type: "have", index });
  }

  /** Sends a block we serve; returns false when the socket buffer is full (wait for drain). */
  sendPiece(index: number, begin: number, block: Buffer): boolean {
    if (this.closed) return false;
    this.flushRequests();
    this.lastSentAt = this.now();
    this.upload.add(block.length);
    const header = encodePieceHeader(index, begin, block.length);
    let ok: boolean;
    if (this.cipher) {
      // The block is a view into a piece buffer other connections may be sending too: it is
      // encrypted into a buffer of its own (with the header, so one write), never in place.
      const out = Buffer.allocUnsafe(header.length + block.length);
      this.cipher.process(header, out);
      this.cipher.process(block, out.subarray(header.length));
      ok = this.socket.write(out);
    } else {
      this.socket.write(header);
      ok = this.socket.write(block);
    }
    if (!ok) this.waitForDrain();
    return ok;
  }

  keepAlive(): void {
    this.write(KEEP_ALIVE);
  }

  setChoking(choke: boolean): void {
    if (this.amChoking === choke) return;
    this.amChoking = choke;
    this.send({ type: choke ? "choke" : "unchoke" });
    if (choke) this.uploadQueue.length = 0;
  }

  setInterested(interested: boolean): void {
    if (this.amInterested === interested) return;
    this.amInterested = interested;
    this.send({ type: interested ? "interested" : "not_interested" });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.off("drain", this.drained);
    this.heldHaves.length = 0;
    this.socket.destroy();
    this.handlers.onClose(this, reason);
  }

  /** `owned`: the buffer is this call's alone, so it may be encrypted in place. */
  private write(buf: Buffer, owned = false): void {
    if (this.closed) return;
    this.flushRequests();
    this.lastSentAt = this.now();
    if (!this.socket.write(this.seal(buf, owned))) this.waitForDrain();
  }

  /**
   * Encrypts bytes about to be written: in place when nobody else holds them (encoded messages,
   * request batches), else into a copy (shared constants such as the keep-alive).
   */
  private seal(buf: Buffer, owned: boolean): Buffer {
    if (this.cipher === null) return buf;
    if (owned) {
      this.cipher.process(buf);
      return buf;
    }
    const out = Buffer.allocUnsafe(buf.length);
    this.cipher.process(buf, out);
    return out;
  }

  private waitForDrain(): void {
    if (this.congested) return;
    this.congested = true;
    this.socket.once("drain", this.drained);
  }

  private readonly drained = (): void => {
    this.congested = false;
    if (this.closed) return;
    // Another 'drain' listener (the uploader's) may have filled the buffer again before this one ran.
    if (this.socket.writableNeedDrain) {
      this.waitForDrain();
      return;
    }
    if (this.heldHaves.length > 0) {
      const haves = this.heldHaves.splice(0);
      this.write(Buffer.concat(haves.map((index) => encodeMessage({ type: "have", index }))), true);
    }
    this.handlers.onDrain(this);
  };

  private flushRequests(): void {
    const batch = this.requestBatch;
    if (batch === undefined) return;
    const bytes = this.batchedRequests * REQUEST_MESSAGE_BYTES;
    this.requestBatch = undefined;
    this.batchedRequests = 0;
    if (this.closed || bytes === 0) return;
    this.lastSentAt = this.now();
    if (!this.socket.write(this.seal(batch.subarray(0, bytes), true))) this.waitForDrain();
  }
}
