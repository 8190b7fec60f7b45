import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { TestkitError } from "./testkit-error.js";

/**
 * Ports handed out by this process. The kernel may return the same ephemeral port again right
 * after it was closed, and two fixtures started in one test must not race for one port.
 */
const handedOut = new Set<number>();

/** Enough attempts to get past a few ports that are busy for UDP or already handed out. */
const MAX_ATTEMPTS = 50;

/**
 * A port that is free for both TCP and UDP on `host` right now (opentracker binds both on one
 * number). Another process can still take it before the caller binds; that window is short.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const port = await bindTcp(host);
    if (handedOut.has(port)) continue;
    if (!(await udpFree(host, port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new TestkitError("BAD_ARGUMENT", `no port free for TCP and UDP on ${host} after ${MAX_ATTEMPTS} attempts`, {
    context: { host },
  });
}

function bindTcp(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", (err) =>
      reject(new TestkitError("BAD_ARGUMENT", `cannot bind TCP on ${host}: ${err.message}`, { cause: err })),
    );
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket("udp4");
    sock.unref();
    sock.once("error", () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}
