import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { TestkitError } from "./testkit-error.js";

/** A process that was just killed releases its sockets within milliseconds. */
const POLL_INTERVAL_MS = 25;

/**
 * Resolves once `host:port` can be listened on again. A server restarted on its old port must
 * not race the socket of the process it replaces; the probe binds the way the servers do
 * (SO_REUSEADDR, so connections in TIME_WAIT do not count as busy).
 */
export async function waitForFreePort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const problem = await tryListen(host, port);
    if (problem === undefined) return;
    last = problem;
    if (Date.now() >= deadline) {
      throw new TestkitError("TIMEOUT", `port ${host}:${port} still busy after ${timeoutMs} ms (${last})`, {
        context: { host, port, timeoutMs },
        retryable: true,
      });
    }
    await delay(POLL_INTERVAL_MS);
  }
}

/** Undefined when a listener could be opened (and closed again), else the reason it could not. */
function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}
