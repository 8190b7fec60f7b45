import { Parser, State } from "@nats-io/nats-core/internal";

let installed = false;

/** Split payloads are gathered in buffers of whole multiples of this, so one size class serves
 * every message of a piece size whatever the length of its JSON header. */
const BODY_SIZE_STEP = 64 * 1024;
/** Idle bodies kept for reuse, in bytes, per process: a few pieces in flight per subscription. */
const MAX_IDLE_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Buffers that split payloads are gathered in, recycled. A 1 MiB piece message arrives in a few
 * dozen socket reads and is gathered in one buffer of its size; a fresh buffer per message cost
 * the storage-writer about a second of garbage collection per GiB (V8 collects the old space
 * once external memory has grown by some tens of MiB, 50 full collections per GiB), plus the
 * zero fill of every new buffer. A body comes back only through `returnBody`, from a
 * subscription whose handler keeps none of its bytes once it settled (`SubscribeOptions.bytesLent`);
 * every other message's buffer is left to the garbage collector as before.
 */
class BodyPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers handed to the parser and not returned yet: only these may come back. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private idle = 0;

  take(size: number): ArrayBuffer {
    const capacity = Math.ceil(size / BODY_SIZE_STEP) * BODY_SIZE_STEP;
    const ab = this.free.get(capacity)?.pop();
    if (ab !== undefined) this.idle -= capacity;
    // Every byte up to `size` is written by the parser before the message is dispatched.
    const body = ab ?? (Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer);
    this.lent.add(body);
    return body;
  }

  give(ab: ArrayBuffer): void {
    if (!this.lent.has(ab)) return;
    this.lent.delete(ab);
    if (this.idle + ab.byteLength > MAX_IDLE_BODY_BYTES) return;
    let list = this.free.get(ab.byteLength);
    if (list === undefined) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.idle += ab.byteLength;
  }

  get idleBytes(): number {
    return this.idle;
  }
}

const bodies = new BodyPool();

/**
 * Gives the buffer a message's data was gathered in back for later messages. Only for a message
 * whose handler has settled and kept no view of its bytes: the next message overwrites them.
 * Data that was not gathered by this module (a message within one socket read, a view into
 * another buffer) is left alone, as is a second return of the same buffer.
 */
export function returnBody(data: Uint8Array): void {
  const ab = data.buffer;
  if (ab instanceof ArrayBuffer) bodies.give(ab);
}

/** Idle recycled bodies, in bytes (for tests). */
export function idleBodyBytes(): number {
  return bodies.idleBytes;
}

/**
 * Makes the nats.js parser gather a message that spans several socket reads in one buffer of
 * the message's size. As shipped (nats-core 3.4), it starts with the rest of the first read
 * (about 64 KiB) and doubles as reads arrive, so a 1 MiB piece cost four allocations (3.6 MiB,
 * zero-filled) and 1.6 MiB of copies on top of the one copy it needs; profiles of the
 * storage-writer and the piece-verifier put 4.6 s and 2.3 s of CPU per GiB in that growth.
 *
 * The parser knows the payload's size from the MSG line before the first byte of it arrives,
 * so after each parse that left a split payload pending, its buffer is replaced once by one of
 * the whole size from the recycled bodies (what was gathered so far is copied over), and the
 * parser's own writes then fill it in place. This patches the parser class of the one nats-core
 * every nats.js package here shares (the versions are pinned to be equal); a parser or buffer
 * without the expected shape is left as it is, and a buffer without the internals it swaps is
 * grown the parser's way, once. Idempotent.
 */
export function presizeSplitPayloads(): void {
  if (installed) return;
  installed = true;
  const proto = Parser.prototype as unknown as { parse(buf: Uint8Array): void };
  const parse = proto.parse;
  if (typeof parse !== "function") return;
  proto.parse = function (this: SplitState, buf: Uint8Array): void {
    parse.call(this, buf);
    const pending = this.msgBuf;
    if (this.state !== State.MSG_PAYLOAD || pending === undefined || typeof pending.grow !== "function") return;
    const size = this.ma.size;
    const missing = size - pending.length;
    if (missing <= 0 || pending.capacity - pending.length >= missing) return;
    if (!(pending._buf instanceof Uint8Array) || typeof pending._off !== "number") return pending.grow(missing);
    const gathered = pending._buf.subarray(pending._off);
    const body = new Uint8Array(bodies.take(size), 0, gathered.byteLength);
    body.set(gathered);
    pending._buf = body;
    pending._off = 0;
  };
}

/** What the patch reads of a parser: its state, the pending payload's buffer and the MSG line's size. */
interface SplitState {
  state: number;
  msgBuf?: {
    readonly length: number;
    readonly capacity: number;
    grow(n: number): void;
    /** DenoBuffer's contents are `_buf[_off:]`; writes append by reslicing within `_buf.buffer`. */
    _buf?: Uint8Array;
    _off?: number;
  };
  ma: { size: number };
}
