import { Worker } from "node:worker_threads";
import type { HashThreadFactory } from "../src/hashing/piece-hasher.js";

/** How a hashing thread of a test behaves: dies on its first piece, dies at start, or hashes. */
export type ThreadFate = "throw-on-first-piece" | "exit-on-first-piece" | "exit-at-start" | "hash";

/** A hashing thread that follows `workerData.fate`; "hash" answers like the real one. */
const FRAGILE_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
if (workerData.fate === "exit-at-start") process.exit(1);
parentPort.on("message", (m) => {
  if (workerData.fate === "throw-on-first-piece") throw new Error("hashing thread blew up");
  if (workerData.fate === "exit-on-first-piece") process.exit(3);
  const view = new Uint8Array(m.buffer, m.offset, m.length);
  parentPort.postMessage({ id: m.id, digest: createHash("sha1").update(view).digest() });
});
`;

/** Threads that meet the given fates in the order they are started; later ones hash. */
export function fragileThreads(fates: readonly ThreadFate[]): HashThreadFactory & { readonly started: () => number } {
  let n = 0;
  const factory = () => new Worker(FRAGILE_THREAD, { eval: true, workerData: { fate: fates[n++] ?? "hash" } });
  return Object.assign(factory, { started: () => n });
}

/** Rejects when `p` has not settled within `ms`: a hung hash shows as a failure, not a test timeout. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}
