import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";

/** SHA-1 of piece data: on the event loop, or on hashing threads. */
export interface PieceHasher {
  sha1(data: Uint8Array): Promise<Buffer>;
  close(): Promise<void>;
}

export class InlineHasher implements PieceHasher {
  async sha1(data: Uint8Array): Promise<Buffer> {
    return createHash("sha1").update(data).digest();
  }
  async close(): Promise<void> {}
}

/** The thread's whole program: hash the bytes it is shown, answer with the digest. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
parentPort.on("message", (m) => {
  const view = new Uint8Array(m.buffer, m.offset, m.length);
  parentPort.postMessage({ id: m.id, digest: createHash("sha1").update(view).digest() });
});
`;

interface Job {
  resolve(d: Buffer): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  /** Started in place of a thread that died. */
  readonly replacement: boolean;
  answered: number;
}

/** Starts one hashing thread; tests pass their own to make threads die on cue. */
export type HashThreadFactory = () => Worker;

const defaultThread: HashThreadFactory = () => new Worker(WORKER_SOURCE, { eval: true });

/**
 * Hashing threads, so SHA-1 (the largest CPU cost of a download) runs beside the event loop that
 * moves bytes. Pieces in SharedArrayBuffer memory are hashed in place; others are copied to the
 * thread. Jobs go to the thread with the fewest in flight.
 *
 * A thread that throws or exits leaves the rotation at once: its jobs fail (the bus redelivers
 * their pieces) and a new thread takes its place, because a dead thread has no jobs and would
 * otherwise win every pick and leave every later piece waiting forever. A replacement that dies
 * before answering anything is not replaced again, so a thread that cannot start does not respawn
 * in a loop; with no thread left, pieces are hashed on the event loop.
 */
export class ThreadedHasher implements PieceHasher {
  private readonly slots: Slot[] = [];
  private readonly inline = new InlineHasher();
  private seq = 0;
  private closed = false;

  constructor(threads: number, private readonly spawn: HashThreadFactory = defaultThread) {
    for (let i = 0; i < threads; i++) this.slots.push(this.startThread(false));
  }

  /** Threads in rotation. */
  get threads(): number {
    return this.slots.length;
  }

  sha1(data: Uint8Array): Promise<Buffer> {
    if (this.slots.length === 0) return this.inline.sha1(data);
    const slot = this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      if (data.buffer instanceof SharedArrayBuffer) {
        slot.worker.postMessage({ id, buffer: data.buffer, offset: data.byteOffset, length: data.byteLength });
      } else {
        const copy = new Uint8Array(data);
        slot.worker.postMessage({ id, buffer: copy.buffer, offset: 0, length: copy.byteLength }, [copy.buffer]);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) {
      for (const j of s.jobs.values()) j.reject(new Error("hasher closed"));
      s.jobs.clear();
      await s.worker.terminate();
    }
  }

  private startThread(replacement: boolean): Slot {
    const worker = this.spawn();
    worker.unref();
    const slot: Slot = { worker, jobs: new Map<number, Job>(), replacement, answered: 0 };
    worker.on("message", (m: { id: number; digest: Uint8Array }) => {
      const job = slot.jobs.get(m.id);
      slot.jobs.delete(m.id);
      slot.answered++;
      job?.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength));
    });
    worker.on("error", (err) => this.retire(slot, new Error(`hashing thread crashed: ${err.message}`, { cause: err })));
    worker.on("exit", (code) => this.retire(slot, new Error(`hashing thread exited with code ${code}`)));
    return slot;
  }

  /** Takes a dead thread out of the rotation and fails its jobs; 'error' and 'exit' both call it. */
  private retire(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    for (const j of slot.jobs.values()) j.reject(err);
    slot.jobs.clear();
    if (this.closed || (slot.replacement && slot.answered === 0)) this.slots.splice(i, 1);
    else this.slots[i] = this.startThread(true);
  }
}
