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

/**
 * Hashing threads, so SHA-1 (the largest CPU cost of a download) runs beside the event loop that
 * moves bytes. Pieces in SharedArrayBuffer memory are hashed in place; others are copied to the
 * thread. Jobs go to the thread with the fewest in flight.
 */
export class ThreadedHasher implements PieceHasher {
  private readonly workers: { worker: Worker; jobs: Map<number, Job> }[] = [];
  private seq = 0;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      const slot = { worker, jobs: new Map<number, Job>() };
      worker.on("message", (m: { id: number; digest: Uint8Array }) => {
        const job = slot.jobs.get(m.id);
        slot.jobs.delete(m.id);
        job?.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength));
      });
      worker.on("error", (err) => {
        for (const j of slot.jobs.values()) j.reject(err);
        slot.jobs.clear();
      });
      this.workers.push(slot);
    }
  }

  sha1(data: Uint8Array): Promise<Buffer> {
    const slot = this.workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
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
    for (const s of this.workers) {
      for (const j of s.jobs.values()) j.reject(new Error("hasher closed"));
      await s.worker.terminate();
    }
  }
}
