import { CoordinationError } from "@shoal/coordination";
import { isShoalError } from "@shoal/errors";
import { tcpProbe } from "./tcp-probe.js";

/**
 * The error to show for a Redis that did not answer: `cannot reach Redis at host:port<note>:
 * <cause>`. The adapters can say only that they gave up (ioredis retries the connection by
 * itself and keeps the cause to its error events), so a TCP connect names the cause: refused,
 * unknown host, no answer. Errors that are not outages (refused access, a bug) pass unchanged.
 */
export async function redisUnreachable(url: string, err: unknown, note = ""): Promise<unknown> {
  if (!isShoalError(err) || err.code !== "BACKEND_UNAVAILABLE" || !err.retryable) return err;
  const { hostname, port } = new URL(url);
  const address = `${hostname}:${port || "6379"}`;
  const reason = (await tcpProbe(hostname.replace(/^\[|\]$/g, ""), Number(port || 6379))) ?? `it takes connections but does not answer as Redis (${err.message})`;
  return new CoordinationError("BACKEND_UNAVAILABLE", `cannot reach Redis at ${address}${note}: ${reason}`, {
    retryable: true,
    context: { op: "redis.connect", redis: address },
    cause: err,
  });
}
