import { Redis, ReplyError } from "ioredis";
import { CoordinationError } from "@shoal/coordination";
import type { RedisConfig } from "./config.js";

/**
 * A call that was queued while Redis is unreachable fails after this many reconnection attempts
 * have failed too. One retry rides out a blip (a restart, a fail-over) without making a caller
 * wait through a real outage: with the delays below it gives up within about a second on
 * loopback, or within two connect timeouts when the host does not answer at all.
 */
const MAX_RETRIES_PER_REQUEST = 1;
/** Reconnection waits this much longer after each failed attempt... */
const RECONNECT_STEP_MS = 100;
/** ...up to this, and never gives up: the adapter works again as soon as Redis is back. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * Error replies whose first word (Redis's machine-readable error kind) says the server cannot
 * answer now but will: loading its data, busy with a script, a replica that lost its primary or
 * is read-only after a fail-over, a cluster reconfiguring, memory full until something is freed.
 * Any other kind, apart from the access errors below, means the keys do not hold what the
 * scripts wrote.
 */
const TRANSIENT_REPLY_KINDS = new Set(["LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "OOM"]);
/** Error replies that say this client may not use the server: only a change of config helps. */
const ACCESS_REPLY_KINDS = new Set(["NOAUTH", "WRONGPASS", "NOPERM"]);

/** The connection of one adapter, with the error mapping every call goes through. */
export class RedisConnection {
  readonly client: Redis;
  /** host:port without credentials, for messages and error context. */
  readonly target: string;
  private closed = false;
  /** Fails each call that was sent on the current connection and has no answer yet. */
  private readonly inFlight = new Set<(err: Error) => void>();

  constructor(config: RedisConfig) {
    const url = new URL(config.url);
    this.target = `${url.hostname}:${url.port || "6379"}`;
    this.client = new Redis(config.url, {
      connectTimeout: config.connectTimeoutMs,
      // A server that keeps the connection open but never answers (hung, stopped, overloaded).
      commandTimeout: config.commandTimeoutMs,
      maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
      // Calls made while connecting wait for the connection instead of failing at start-up.
      enableOfflineQueue: true,
      // A script cut off by a lost connection may or may not have run; sending it again could
      // claim twice or report a transition that already happened as refused. The caller gets
      // BACKEND_UNAVAILABLE and decides. (ioredis then drops such a call without settling it
      // when the first reconnection succeeds; the 'close' listener below fails it instead.)
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt) => Math.min(attempt * RECONNECT_STEP_MS, MAX_RECONNECT_DELAY_MS),
    });
    // Connection errors also reach every call that fails because of them, as BACKEND_UNAVAILABLE
    // with its op; without a listener ioredis would print each one to the console.
    this.client.on("error", () => undefined);
    this.client.on("close", () => {
      const lost = new Error("the connection to Redis closed before the answer came; the call may or may not have run");
      for (const fail of [...this.inFlight]) fail(lost);
      this.inFlight.clear();
    });
  }

  /** Runs one call; any failure of Redis or the network becomes a CoordinationError naming `op`. */
  async run<T>(op: string, infoHash: string | undefined, call: (client: Redis) => Promise<T>): Promise<T> {
    const context = { op, redis: this.target, ...(infoHash === undefined ? {} : { infoHash }) };
    if (this.closed) {
      // Retryable as the port has it for every adapter: the backend is down for this instance,
      // and a caller that retries does so through a fresh instance.
      throw new CoordinationError("BACKEND_UNAVAILABLE", `${op}: the Redis adapter for ${this.target} is closed`, { context, retryable: true });
    }
    try {
      // Only a call made on a ready connection is written at once; one made while connecting
      // waits in ioredis's queue, bounded by its retry limit, and is not in flight yet.
      const sent = this.client.status === "ready";
      const answer = call(this.client);
      return await (sent ? this.untilConnectionLost(answer) : answer);
    } catch (err) {
      if (err instanceof CoordinationError) throw err;
      throw backendError(err, context);
    }
  }

  /** Settles with `answer`, or fails as soon as the connection it was sent on closes. */
  private untilConnectionLost<T>(answer: Promise<T>): Promise<T> {
    let fail: (err: Error) => void = () => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    this.inFlight.add(fail);
    return Promise.race([answer, lost]).finally(() => this.inFlight.delete(fail));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // QUIT lets replies in flight arrive; when Redis is down there is nothing to wait for.
    if (this.client.status === "ready") await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}

function backendError(err: unknown, context: { op: string; redis: string; infoHash?: string }): CoordinationError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ReplyError) {
    const kind = message.split(/\s/, 1)[0] ?? "";
    if (ACCESS_REPLY_KINDS.has(kind)) {
      return new CoordinationError("BACKEND_UNAVAILABLE", `${context.op}: Redis ${context.redis} refused access: ${message}`, {
        context,
        cause: err,
      });
    }
    if (!TRANSIENT_REPLY_KINDS.has(kind)) {
      return new CoordinationError("INVARIANT_BROKEN", `${context.op}: Redis ${context.redis} refused the call: ${message}`, {
        context,
        cause: err,
      });
    }
  }
  return new CoordinationError("BACKEND_UNAVAILABLE", `${context.op}: Redis ${context.redis} is unavailable: ${message}`, {
    context,
    retryable: true,
    cause: err,
  });
}
