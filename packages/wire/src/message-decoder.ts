import { checkPieceCount, PIECE_HEADER_BYTES, resolveLimits } from "./limits.js";
import type { DecoderLimits } from "./limits.js";
import { LENGTH_PREFIX_BYTES, MESSAGE_ID } from "./message.js";
import type { Message } from "./message.js";
import { checkMessageLength, KEEP_ALIVE_MESSAGE, parseMessage } from "./message-rules.js";
import { toBuffer } from "./to-buffer.js";
import { readUint32 } from "./uint32.js";
import { WireError } from "./wire-error.js";

/*
 * What the decoder waits for next. Plain numbers rather than strings because the phase is
 * compared several times per message.
 */
/** Reading the 4-byte length prefix, possibly across chunks. */
const PHASE_PREFIX = 0;
/** The prefix is known; waiting for the id byte to check the prefix against it. */
const PHASE_ID = 1;
/** Copying a message that straddles chunks into its own buffer. */
const PHASE_BODY = 2;
/** Dropping the rest of a message with an unknown id. */
const PHASE_SKIP = 3;
type Phase = typeof PHASE_PREFIX | typeof PHASE_ID | typeof PHASE_BODY | typeof PHASE_SKIP;

export interface MessageDecoderOptions {
  /**
   * Assemble piece messages that straddle chunks in one buffer, reused for the next one,
   * instead of a fresh buffer each. The handler must then copy a piece block before it returns
   * (a downloader copies it into its piece buffer at once anyway). Socket reads of 64-128 KiB
   * leave an eighth to a quarter of all 16 KiB blocks straddling two chunks.
   */
  readonly reuseBlockBuffer?: boolean;
}

/**
 * Streaming decoder for the messages after the handshake. `push` raw socket chunks; it calls
 * `onMessage` for every complete message, in order, synchronously.
 *
 * Memory and copies: a message that lies inside one pushed chunk is parsed in place, so a
 * piece block, bitfield or extended payload is a view into that chunk (which it keeps alive;
 * copy the block if it is held for long). Only a message that straddles chunks is copied,
 * into a buffer of exactly its length, allocated once the id byte has confirmed the length (with
 * `reuseBlockBuffer`, piece messages go into one buffer kept for the next).
 * Chunks themselves are never retained, so memory is bounded by one message however the
 * peer fragments its stream. The caller must not modify a chunk after pushing it.
 *
 * Validation: the length prefix is checked against `maxMessageBytes` as soon as its 4 bytes
 * arrive, and against the message id as soon as the id byte arrives, before any payload is
 * buffered (fixed-size messages exact, bitfield exactly ceil(pieceCount / 8) bytes, piece
 * block 1..maxBlockBytes, extended at least 2 bytes). Contents are checked once complete:
 * indices below the piece count, request / cancel / reject lengths 1..maxBlockBytes, spare
 * bitfield bits zero. Numbers are read as uint32. Unknown ids are skipped without buffering
 * their payload (counted in `skippedMessageCount`); their prefix is still bounded by
 * `maxMessageBytes`.
 *
 * Not checked here, because they depend on connection state: whether BEP 6 or BEP 10
 * messages were negotiated, whether a bitfield came first, whether a piece was requested,
 * and whether begin + length lies inside the piece.
 *
 * Failure: a violation throws a WireError from `push` and the decoder stays failed; every
 * later push rethrows the same error. If `onMessage` throws, `push` rethrows that error
 * without failing: the message counts as delivered and the bytes after it are decoded on the
 * next push. Calling `push` from inside `onMessage` queues the chunk behind the current one.
 */
export class MessageDecoder {
  private readonly onMessage: (m: Message) => void;
  private readonly maxBlockBytes: number;
  private readonly maxMessageBytes: number;
  private pieceCount: number | null;

  private phase: Phase = PHASE_PREFIX;
  /** Prefix bytes read so far while the prefix straddles chunks (0 to 3). */
  private prefixBytes = 0;
  /** The length prefix, id byte included; accumulates while the prefix straddles chunks. */
  private length = 0;
  /** The buffer a straddling message is copied into, and how much of it is filled. */
  private body: Buffer | null = null;
  private bodyFilled = 0;
  /** Bytes of an unknown message still to drop. */
  private skipRemaining = 0;

  /** Chunks waiting behind the one being decoded (re-entrant push, or a throwing handler). */
  private readonly queue: Buffer[] = [];
  private draining = false;
  private handlerThrew = false;
  private failure: unknown = null;
  private skipped = 0;
  /** The buffer straddling piece messages are assembled in, with `reuseBlockBuffer`. */
  private blockBuffer: Buffer | null = null;
  private readonly reuseBlockBuffer: boolean;

  constructor(limits: DecoderLimits, onMessage: (m: Message) => void, options: MessageDecoderOptions = {}) {
    const resolved = resolveLimits(limits);
    this.pieceCount = resolved.pieceCount;
    this.maxBlockBytes = resolved.maxBlockBytes;
    this.maxMessageBytes = resolved.maxMessageBytes;
    this.onMessage = onMessage;
    this.reuseBlockBuffer = options.reuseBlockBuffer === true;
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== null) throw this.failure;
    if (chunk.length > 0) this.queue.push(toBuffer(chunk));
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) this.consume(this.queue.shift()!);
    } catch (err) {
      if (this.handlerThrew) {
        this.handlerThrew = false;
      } else {
        this.failure = err;
        this.body = null;
        this.queue.length = 0;
      }
      throw err;
    } finally {
      this.draining = false;
    }
  }

  /**
   * Sets the piece count once it is known (a magnet download after the metadata arrived).
   * Later messages are checked against it; a bitfield that arrived earlier is not re-checked
   * here, so check it with `new Bitfield(n, bits)`.
   */
  setPieceCount(n: number): void {
    checkPieceCount(n, this.maxMessageBytes);
    this.pieceCount = n;
  }

  /** Bytes received but not yet delivered as a message (skipped bytes are not held). */
  get bufferedBytes(): number {
    let queued = 0;
    for (const chunk of this.queue) queued += chunk.length;
    switch (this.phase) {
      case PHASE_PREFIX:
        return queued + this.prefixBytes;
      case PHASE_ID:
        return queued + LENGTH_PREFIX_BYTES;
      case PHASE_BODY:
        return queued + LENGTH_PREFIX_BYTES + this.bodyFilled;
      default:
        return queued;
    }
  }

  /** Messages with an unknown id that were dropped. */
  get skippedMessageCount(): number {
    return this.skipped;
  }

  /** Decodes one chunk completely; only the partial message at its end is carried over. */
  private consume(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.phase) {
        case PHASE_PREFIX: {
          if (this.prefixBytes === 0 && end - pos >= LENGTH_PREFIX_BYTES) {
            this.length = readUint32(chunk, pos);
            pos += LENGTH_PREFIX_BYTES;
          } else {
            // The prefix straddles chunks: gather it a byte at a time. Multiplying keeps
            // the value exact where a shift would overflow into the sign bit.
            this.length = this.length * 256 + chunk[pos];
            pos++;
            if (++this.prefixBytes < LENGTH_PREFIX_BYTES) break;
            this.prefixBytes = 0;
          }
          if (this.length === 0) {
            this.emit(KEEP_ALIVE_MESSAGE, chunk, pos);
          } else {
            this.checkMaxLength(this.length);
            this.phase = PHASE_ID;
          }
          break;
        }
        case PHASE_ID: {
          const length = this.length;
          this.length = 0;
          if (!checkMessageLength(chunk[pos], length, this.pieceCount, this.maxBlockBytes)) {
            this.skipped++;
            const skip = Math.min(length, end - pos);
            pos += skip;
            this.skipRemaining = length - skip;
            this.phase = this.skipRemaining > 0 ? PHASE_SKIP : PHASE_PREFIX;
          } else if (end - pos >= length) {
            // The common case: the whole message is in this chunk, so parse it in place.
            const message = parseMessage(chunk, pos, length, this.pieceCount, this.maxBlockBytes);
            pos += length;
            this.phase = PHASE_PREFIX;
            this.emit(message, chunk, pos);
          } else {
            const body = this.reuseBlockBuffer && chunk[pos] === MESSAGE_ID.piece ? this.blockBody(length) : Buffer.allocUnsafe(length);
            this.bodyFilled = chunk.copy(body, 0, pos, end);
            this.body = body;
            pos = end;
            this.phase = PHASE_BODY;
          }
          break;
        }
        case PHASE_BODY: {
          const body = this.body!;
          const copied = chunk.copy(body, this.bodyFilled, pos, Math.min(end, pos + body.length - this.bodyFilled));
          pos += copied;
          this.bodyFilled += copied;
          if (this.bodyFilled < body.length) break;
          this.body = null;
          this.bodyFilled = 0;
          const message = parseMessage(body, 0, body.length, this.pieceCount, this.maxBlockBytes);
          this.phase = PHASE_PREFIX;
          this.emit(message, chunk, pos);
          break;
        }
        default: {
          const skip = Math.min(this.skipRemaining, end - pos);
          pos += skip;
          this.skipRemaining -= skip;
          if (this.skipRemaining === 0) this.phase = PHASE_PREFIX;
          break;
        }
      }
    }
  }

  /**
   * A view of `length` bytes of the reused block buffer, which holds the largest piece message
   * the limits allow (the id check has bounded `length` by it already).
   */
  private blockBody(length: number): Buffer {
    this.blockBuffer ??= Buffer.allocUnsafe(PIECE_HEADER_BYTES + this.maxBlockBytes);
    return this.blockBuffer.subarray(0, length);
  }

  private checkMaxLength(length: number): void {
    if (length <= this.maxMessageBytes) return;
    throw new WireError(
      "MESSAGE_TOO_LONG",
      `length prefix ${length} exceeds the ${this.maxMessageBytes}-byte message limit`,
      { context: { length, maxMessageBytes: this.maxMessageBytes } },
    );
  }

  /**
   * Delivers one message. The decoder's state already points past it, so if the handler
   * throws, the rest of the chunk is put back at the head of the queue and nothing is lost.
   */
  private emit(message: Message, chunk: Buffer, pos: number): void {
    try {
      this.onMessage(message);
    } catch (err) {
      this.handlerThrew = true;
      if (pos < chunk.length) this.queue.unshift(chunk.subarray(pos));
      throw err;
    }
  }
}
