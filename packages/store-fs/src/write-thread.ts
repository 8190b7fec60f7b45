import { Worker } from "node:worker_threads";

/**
 * Largest single write. The kernel sizes page-cache folios by the write: a 1 MiB write gets
 * large folios, and filling fresh large folios cost 1.2-1.8 s of system time per GiB on the
 * benchmark machine against 0.3-0.6 s in writes of 16-64 KiB.
 */
export const MAX_WRITE_BYTES = 64 * 1024;

/**
 * The thread's whole program: write the bytes it is shown to the descriptor it is given, in
 * writes of at most MAX_WRITE_BYTES, and answer with the job id (and the error, if any).
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { writeSync } = require("node:fs");
parentPort.on("message", (m) => {
  try {
    const bytes = new Uint8Array(m.buffer, m.byteOffset, m.length);
    let done = 0;
    while (done < m.length) {
      done += writeSync(m.fd, bytes, done, Math.min(${MAX_WRITE_BYTES}, m.length - done), m.position + done);
    }
    parentPort.postMessage({ id: m.id });
  } catch (err) {
    parentPort.postMessage({ id: m.id, code: err.code, message: err.message });
  }
});
`;

/** The thread is tiny; these keep its heap (and so the process's RSS) tiny too. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 };

interface Job {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Writes shared-memory buffers to open descriptors on one thread beside the event loop. Writing
 * a piece in 64 KiB writes through libuv's pool would cost the event loop a round trip per
 * write; here it costs one message per span, and the writes of one file never contend for the
 * file's lock. Descriptors stay the caller's: it must keep them open until `write` settles.
 */
export class WriteThread {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, Job>();
  private seq = 0;

  /**
   * Writes `length` bytes of `data` from `offset` at file position `position`. Rejects with an
   * Error carrying the errno `code` of a failed write, or without a code when the thread died.
   */
  write(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    const worker = this.start();
    const id = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      if (this.jobs.size === 1) worker.ref();
      worker.postMessage({ id, fd, buffer: data.buffer, byteOffset: data.byteOffset + offset, length, position });
    });
  }

  /**
   * Starts the thread ahead of the first write. Booting it takes tens of milliseconds, hundreds
   * on a busy machine, and pieces that arrive meanwhile wait in memory.
   */
  prepare(): void {
    this.start();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error("the write thread was closed"));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: WORKER_LIMITS });
    // Idle, the thread must not keep the process alive; `write` refs it while jobs are out.
    worker.unref();
    worker.on("message", (m: { id: number; code?: string; message?: string }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      this.jobs.delete(m.id);
      if (this.jobs.size === 0) worker.unref();
      if (m.message === undefined) job.resolve();
      else job.reject(Object.assign(new Error(m.message), { code: m.code }));
    });
    const died = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(err);
    };
    worker.on("error", died);
    worker.on("exit", (code) => died(new Error(`the write thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }
}
