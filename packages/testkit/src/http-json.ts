import { request } from "node:http";
import { TestkitError } from "./testkit-error.js";

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** Control answers of local daemons are small; a bigger one means something is wrong. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A local daemon answers control requests in milliseconds. */
const DEFAULT_HTTP_TIMEOUT_MS = 5_000;

/**
 * One HTTP request to a local control interface (RPC, WebUI), on a fresh connection so a
 * daemon that closes idle sockets cannot break a pooled one.
 */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const u = new URL(url);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? "GET",
        headers: opts.headers,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error(`answer over ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", (err) => reject(rpcError(url, err)));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => reject(rpcError(url, err)));
    req.end(opts.body);
  });
}

function rpcError(url: string, err: Error): TestkitError {
  return new TestkitError("RPC_FAILED", `${url}: ${err.message}`, { cause: err, retryable: true, context: { url } });
}
