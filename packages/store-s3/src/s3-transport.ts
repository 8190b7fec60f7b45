import type { AsyncLocalStorage } from "node:async_hooks";
import * as http from "node:http";
import * as https from "node:https";
import type { ClientOptions } from "minio";

type Transport = NonNullable<ClientOptions["transport"]>;

/**
 * Answers that another attempt may get past: server errors, throttling and gateway timeouts
 * (the set minio-go retries).
 */
const TRANSIENT_STATUSES = new Set([408, 429, 499, 500, 502, 503, 504, 520]);
/** An S3 error document is a few hundred bytes; more than this is not one and is not kept. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** A transient HTTP answer (5xx, 429, 408), with the S3 error code when the body carried one. */
export class TransientStatusError extends Error {
  override readonly name = "TransientStatusError";
  constructor(
    readonly status: number,
    readonly s3Code: string | undefined,
    detail: string,
  ) {
    super(`HTTP ${status}${s3Code ? ` ${s3Code}` : ""}${detail ? `: ${detail}` : ""}`);
  }
}

/**
 * What the transport learns about the attempt it serves: the HTTP status of the answer. The
 * request methods of minio hide it (a 404 turns into an S3Error, a 204 into nothing), so the
 * store reads it here for its per-status counts.
 */
export interface AttemptRecord {
  status?: number;
}

/** No bytes moved on the connection for the configured time. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`no response activity within ${timeoutMs} ms`);
  }
}

/**
 * The HTTP transport handed to minio. minio 8 either retries 5xx answers itself (printing to
 * the console and ending with an Error that has lost the status) or, with retries disabled,
 * throws that Error without reading the answer, which leaves the socket busy. This transport
 * reads such an answer and fails the request with a TransientStatusError instead, so the store
 * retries with its own policy and reports the S3 code. It also puts an idle timeout on every
 * request, which minio does not. The status of every answer goes into the `AttemptRecord` that
 * `attempts` holds where minio sent the request from (the store runs each attempt in its own).
 */
export function s3Transport(
  protocol: "http:" | "https:",
  timeoutMs: number,
  attempts?: AsyncLocalStorage<AttemptRecord>,
): { transport: Transport; agent: http.Agent } {
  const base = protocol === "https:" ? https : http;
  // Keep-alive saves a TCP (and TLS) handshake per request; sockets are bounded by the store's
  // concurrency, not by the agent.
  const agent = protocol === "https:" ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const request = (options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void): http.ClientRequest => {
    const record = attempts?.getStore();
    const req = base.request(options, (res) => {
      const status = res.statusCode ?? 0;
      if (record) record.status = status;
      if (!TRANSIENT_STATUSES.has(status)) {
        callback?.(res);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ERROR_BODY_BYTES) chunks.push(c);
      });
      res.on("error", (err) => req.destroy(err));
      res.on("end", () => {
        const xml = Buffer.concat(chunks).toString("utf8");
        req.emit("error", new TransientStatusError(status, xmlTag(xml, "Code"), xmlTag(xml, "Message") ?? res.statusMessage ?? ""));
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new RequestTimeoutError(timeoutMs)));
    return req;
  };
  return { transport: { request } as unknown as Transport, agent };
}

function xmlTag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1];
}
