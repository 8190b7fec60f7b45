import { connect } from "node:net";

/** Loopback and LAN connects finish in milliseconds; a host that drops packets is reported after this. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Why `host:port` takes no TCP connection, in the system's words (`connect ECONNREFUSED
 * 127.0.0.1:6379`, `getaddrinfo ENOTFOUND redis`), or undefined when it does. Clients that retry
 * by themselves (ioredis) report only that they gave up; this names the cause for the operator.
 */
export function tcpProbe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer to a TCP connect within ${PROBE_TIMEOUT_MS / 1000} s`));
    socket.once("connect", () => done(undefined));
    socket.once("error", (err) => done(err.message));
  });
}
