import http from "node:http";
import https from "node:https";
import type { RateLimit } from "./bandwidth-limiter.js";
import { PeerWorkerError } from "./peer-worker-error.js";

/** One ranged GET of one file on a web seed. */
export interface RangeRequest {
  readonly url: string;
  readonly fileOffset: number;
  readonly length: number;
  /** The file's whole length: a 200 answer is taken only when the range is the whole file. */
  readonly fileLength: number;
}

export interface RangeFetchOptions {
  /** Keep-alive agents, one per scheme, holding at most the requests allowed per host. */
  readonly agents: { readonly http: http.Agent; readonly https: https.Agent };
  /** Redirects followed per request; a loop is refused at once. */
  readonly maxRedirects: number;
  /** A request that receives nothing for this long fails (a stalled server or a lost socket). */
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal;
  /** The worker's download rate limit: reading pauses while it is in debt, as peer reads do. */
  readonly limiter?: RateLimit;
  /**
   * Body bytes as they arrive, at their offset inside the range, in order. The chunk is only
   * valid during the call (copy what is kept).
   */
  onData(rangeOffset: number, chunk: Buffer): void;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/**
 * Fetches exactly `req.length` bytes of a file from a web seed (RFC 9110 range request),
 * following at most `maxRedirects` redirects. The answer must be a 206 whose Content-Range is
 * the range asked for, or a 200 when the range is the whole file; anything else, a body that ends
 * early or runs on past the range, a compressed body, a reset or a stall is a PeerWorkerError
 * naming the URL. Never hands over a byte beyond the range. Resolves with the URL that answered.
 */
export async function fetchRange(req: RangeRequest, opts: RangeFetchOptions): Promise<string> {
  const seen = new Set<string>();
  let url = req.url;
  for (let hops = 0; ; hops++) {
    seen.add(url);
    const { res, timedOut } = await send(url, req, opts);
    if (REDIRECT_STATUSES.has(res.statusCode ?? 0)) {
      res.resume();
      const location = res.headers.location;
      const next = location === undefined ? undefined : safeUrl(location, url);
      if (next === undefined) throw fault("WEB_SEED_REDIRECT", `redirect from ${url} has no usable http(s) Location (${location ?? "none"})`, url);
      if (seen.has(next)) throw fault("WEB_SEED_REDIRECT", `redirect loop: ${url} sends back to ${next}`, url);
      if (hops + 1 > opts.maxRedirects) throw fault("WEB_SEED_REDIRECT", `more than ${opts.maxRedirects} redirects from ${req.url}`, url);
      url = next;
      continue;
    }
    try {
      checkAnswer(res, req, url);
    } catch (err) {
      res.destroy();
      throw err;
    }
    await readBody(res, req, url, opts, timedOut);
    return url;
  }
}

/** Sends the GET; `timedOut` tells later whether the idle timeout is what ended it. */
function send(url: string, req: RangeRequest, opts: RangeFetchOptions): Promise<{ res: http.IncomingMessage; timedOut: () => boolean }> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const secure = url.startsWith("https:");
    const request = (secure ? https : http).get(url, {
      agent: secure ? opts.agents.https : opts.agents.http,
      signal: opts.signal,
      headers: {
        range: `bytes=${req.fileOffset}-${req.fileOffset + req.length - 1}`,
        "accept-encoding": "identity",
        "user-agent": "shoal/0.1",
      },
    });
    request.setTimeout(opts.idleTimeoutMs, () => {
      timedOut = true;
      request.destroy(timeoutFault(url, opts));
    });
    request.once("response", (res) => resolve({ res, timedOut: () => timedOut }));
    request.once("error", (err) => reject(networkFault(err, url, opts.signal)));
  });
}

function checkAnswer(res: http.IncomingMessage, req: RangeRequest, url: string): void {
  const status = res.statusCode ?? 0;
  const encoding = res.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") {
    throw fault("WEB_SEED_BAD_RANGE", `${url} sent a ${encoding}-encoded body; byte ranges of the file itself are needed`, url);
  }
  const end = req.fileOffset + req.length - 1;
  if (status === 206) {
    const m = CONTENT_RANGE.exec(String(res.headers["content-range"] ?? ""));
    const ok = m !== null && Number(m[1]) === req.fileOffset && Number(m[2]) === end && (m[3] === "*" || Number(m[3]) === req.fileLength);
    if (!ok) {
      throw fault("WEB_SEED_BAD_RANGE", `${url} answered bytes ${req.fileOffset}-${end}/${req.fileLength} with Content-Range "${res.headers["content-range"] ?? ""}"`, url);
    }
    return;
  }
  if (status === 200) {
    // A server without range support sends the whole file: usable only when that is the range.
    if (req.fileOffset !== 0 || req.length !== req.fileLength) {
      throw fault("WEB_SEED_BAD_RANGE", `${url} ignored the range ${req.fileOffset}-${end} and sent the whole file`, url);
    }
    const declared = res.headers["content-length"];
    if (declared !== undefined && Number(declared) !== req.fileLength) {
      throw fault("WEB_SEED_BAD_RANGE", `${url} is ${declared} bytes, the torrent says ${req.fileLength}`, url);
    }
    return;
  }
  throw fault("WEB_SEED_STATUS", `${url} answered HTTP ${status} to bytes ${req.fileOffset}-${end}`, url, { status });
}

async function readBody(res: http.IncomingMessage, req: RangeRequest, url: string, opts: RangeFetchOptions, timedOut: () => boolean): Promise<void> {
  let at = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (at + chunk.length > req.length) {
        res.destroy();
        throw fault("WEB_SEED_LONG_BODY", `${url} sent more than the ${req.length} bytes asked for`, url);
      }
      opts.onData(at, chunk);
      at += chunk.length;
      opts.limiter?.consume(chunk.length);
      // Not reading while the budget is spent leaves the bytes in the socket: TCP slows the server.
      if (opts.limiter && !opts.limiter.ready()) await new Promise<void>((resolve) => opts.limiter!.whenReady(resolve));
    }
  } catch (err) {
    if (err instanceof PeerWorkerError) throw err;
    // Destroyed by the idle timeout, the body reports a reset; the stall is the real cause.
    if (timedOut()) throw timeoutFault(url, opts);
    throw networkFault(err, url, opts.signal, at);
  }
  if (at < req.length) throw fault("WEB_SEED_SHORT_BODY", `${url} sent ${at} of ${req.length} bytes`, url, { received: at });
}

function timeoutFault(url: string, opts: RangeFetchOptions): PeerWorkerError {
  return fault("WEB_SEED_TIMEOUT", `nothing from ${url} for ${opts.idleTimeoutMs / 1000} s`, url);
}

/** `location` resolved against `base` when it is an http(s) URL. */
function safeUrl(location: string, base: string): string | undefined {
  try {
    const next = new URL(location, base);
    return next.protocol === "http:" || next.protocol === "https:" ? next.href : undefined;
  } catch {
    return undefined;
  }
}

function networkFault(err: unknown, url: string, signal: AbortSignal, received?: number): unknown {
  if (err instanceof PeerWorkerError || signal.aborted) return err;
  const message = (err as Error).message;
  const what = received === undefined ? "" : ` after ${received} bytes`;
  return new PeerWorkerError("WEB_SEED_NETWORK", `${url}: ${message}${what}`, { context: { url, op: "webseed.get" }, cause: err, retryable: true });
}

function fault(code: ConstructorParameters<typeof PeerWorkerError>[0], message: string, url: string, extra: Record<string, number> = {}): PeerWorkerError {
  return new PeerWorkerError(code, message, { context: { url, op: "webseed.get", ...extra } });
}
