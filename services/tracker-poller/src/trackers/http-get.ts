import http from "node:http";
import https from "node:https";
import type { Clock } from "@shoal/service-kit";
import { TrackerError } from "@shoal/tracker-proto";
import { abortError } from "./abort.js";

export interface LimitedGetOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxRedirects: number;
  readonly clock: Clock;
  readonly userAgent: string;
  readonly signal?: AbortSignal;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

type Hop = { readonly redirect: URL } | { readonly body: Uint8Array };

/**
 * GETs a tracker URL with everything a hostile server could abuse bounded: one deadline for the
 * whole exchange (redirects and body included), a body cap enforced while reading (and up front
 * from Content-Length), at most `maxRedirects` redirects, and only to http: or https:.
 * Resolves with the body of a 200 answer; rejects with TrackerError only.
 */
export async function limitedGet(url: string, options: LimitedGetOptions): Promise<Uint8Array> {
  // Errors name the tracker without the query: it carries passkeys and our peer id.
  const name = withoutQuery(url);
  const controller = new AbortController();
  const timer = options.clock.setTimeout(() => {
    controller.abort(new TrackerError("TIMEOUT", `tracker ${name} did not answer within ${options.timeoutMs} ms`, {
      context: { url: name, timeoutMs: options.timeoutMs },
    }));
  }, options.timeoutMs);
  const onAbort = (): void => controller.abort(abortError(options.signal!, `request to ${name}`));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let target = parseHttpUrl(url, name);
    for (let redirects = 0; ; redirects++) {
      const hop = await getOnce(target, name, options, controller.signal);
      if ("body" in hop) return hop.body;
      if (redirects >= options.maxRedirects) {
        throw new TrackerError("TOO_MANY_REDIRECTS", `tracker ${name} redirected more than ${options.maxRedirects} times`, {
          context: { url: name, maxRedirects: options.maxRedirects, last: withoutQuery(hop.redirect.href) },
        });
      }
      target = hop.redirect;
    }
  } finally {
    options.clock.clearTimer(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function withoutQuery(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

function parseHttpUrl(text: string, origin: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(text, base);
  } catch (err) {
    throw new TrackerError("INVALID_URL", `tracker ${origin}: cannot parse URL "${withoutQuery(text)}"`, { context: { url: origin }, cause: err });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TrackerError("UNSUPPORTED_SCHEME", `tracker ${origin}: URL "${withoutQuery(text)}" uses ${parsed.protocol}, expected http: or https:`, {
      context: { url: origin, target: withoutQuery(text) },
    });
  }
  return parsed;
}

function getOnce(target: URL, origin: string, options: LimitedGetOptions, signal: AbortSignal): Promise<Hop> {
  return new Promise<Hop>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal, `request to ${origin}`));
      return;
    }
    const get = target.protocol === "https:" ? https.get : http.get;
    let settled = false;
    const fail = (err: TrackerError): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      request.destroy();
      reject(err);
    };
    const succeed = (hop: Hop): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      resolve(hop);
    };
    const onAbort = (): void => fail(abortError(signal, `request to ${origin}`));

    // Identity encoding: tracker answers are small, and decompressing would need its own bomb
    // guard. No keep-alive: announces are minutes apart and trackers such as opentracker close
    // the connection after each answer, so a pooled socket would only fail on reuse.
    const headers = { "user-agent": options.userAgent, "accept-encoding": "identity", connection: "close" };
    const request = get(target, { headers, agent: false }, (response) => {
      const status = response.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        const location = response.headers.location;
        response.resume();
        if (location === undefined) {
          fail(statusError(origin, status, "without a Location header"));
          return;
        }
        try {
          succeed({ redirect: parseHttpUrl(location, origin, target) });
        } catch (err) {
          fail(err as TrackerError);
        }
        response.destroy();
        return;
      }
      if (status !== 200) {
        fail(statusError(origin, status));
        return;
      }
      const declared = Number(response.headers["content-length"]);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        fail(tooLarge(origin, declared, options.maxBytes));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > options.maxBytes) fail(tooLarge(origin, received, options.maxBytes));
        else chunks.push(chunk);
      });
      response.on("end", () => {
        const body = Buffer.concat(chunks, received);
        succeed({ body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) });
      });
      response.on("error", (err) => fail(networkError(origin, err)));
      response.on("close", () => {
        if (!response.complete) fail(networkError(origin, new Error("connection closed mid-response")));
      });
    });
    request.on("error", (err) => fail(signal.aborted ? abortError(signal, `request to ${origin}`) : networkError(origin, err)));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function statusError(url: string, status: number, detail = ""): TrackerError {
  // 5xx and 429 are the tracker's temporary trouble; other statuses will not change on retry.
  const retryable = status >= 500 || status === 429;
  return new TrackerError("HTTP_STATUS", `tracker ${url} answered HTTP ${status}${detail ? " " + detail : ""}`, {
    context: { url, status },
    retryable,
  });
}

function tooLarge(url: string, bytes: number, maxBytes: number): TrackerError {
  return new TrackerError("TOO_LARGE", `tracker ${url} sent more than ${maxBytes} bytes (at least ${bytes})`, {
    context: { url, bytes, maxBytes },
  });
}

function networkError(url: string, err: Error): TrackerError {
  return new TrackerError("NETWORK", `tracker ${url}: ${err.message}`, { context: { url }, cause: err });
}
