import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { open, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { TestkitError } from "./testkit-error.js";

/** Faults a web seed server can be told to make; changeable while it runs. */
export interface WebSeedFaults {
  /** Every file answers 404. */
  notFound?: boolean;
  /** Bodies stop half way through (Content-Length promises the whole range; the socket is then closed). */
  shortBodies?: boolean;
  /** Bytes of every file in [from, to) are sent flipped (a mirror holding a damaged copy). */
  corrupt?: { readonly from: number; readonly to: number };
  /** Bodies are sent at about this rate (a slow mirror); 0 or absent = as fast as possible. */
  bytesPerSecond?: number;
}

export interface WebSeedServerOptions {
  /** The directory served: `GET /a/b` reads `<root>/a/b`. */
  readonly root: string;
  readonly faults?: WebSeedFaults;
}

export interface WebSeedServerStats {
  requests: number;
  /** TCP connections accepted: fewer than requests means keep-alive was used. */
  connections: number;
  /** Body bytes written for file requests. */
  bytesServed: number;
  /** `Date.now()` of the first and the last body byte written (0 before any). */
  firstByteAt: number;
  lastByteAt: number;
  /** Answers by status code. */
  readonly statuses: Record<number, number>;
}

export interface WebSeedServer {
  /** `http://127.0.0.1:<port>/`: the URL of `root`. */
  readonly url: string;
  /** `/loop/<path>` and `/loop2/<path>` redirect to each other forever. */
  readonly loopUrl: string;
  /** `/moved/<path>` redirects (302) to `/<path>`. */
  readonly movedUrl: string;
  readonly faults: WebSeedFaults;
  readonly stats: WebSeedServerStats;
  stop(): Promise<void>;
}

/** Bytes written per write, and per pause when throttled. */
const CHUNK_BYTES = 64 * 1024;

/**
 * A small HTTP/1.1 file server on a free loopback port for web seed (BEP 19) tests: single byte
 * ranges (`bytes=a-b`, `bytes=a-`) answered 206 with Content-Range, the whole file 200 without a
 * Range header, 416 for a range past the end, keep-alive connections, redirects under `/moved/`
 * and a redirect loop under `/loop/`, and the faults of `WebSeedFaults`.
 */
export async function startWebSeedServer(opts: WebSeedServerOptions): Promise<WebSeedServer> {
  const root = resolve(opts.root);
  const faults: WebSeedFaults = { ...opts.faults };
  const stats: WebSeedServerStats = { requests: 0, connections: 0, bytesServed: 0, firstByteAt: 0, lastByteAt: 0, statuses: {} };
  const answer = (res: ServerResponse, status: number, headers: Record<string, string> = {}, body = "") => {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    res.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const server = createServer((req, res) => {
    stats.requests++;
    void handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", () => stats.connections++);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    for (const [from, to] of [
      ["/loop/", "/loop2/"],
      ["/loop2/", "/loop/"],
      ["/moved/", "/"],
    ] as const) {
      if (path.startsWith(from)) return answer(res, 302, { location: to + path.slice(from.length) });
    }
    let file: string;
    try {
      file = resolve(root, ...path.split("/").filter((s) => s !== "").map(decodeURIComponent));
    } catch {
      return answer(res, 400);
    }
    if (faults.notFound || (file !== root && !file.startsWith(root + sep))) return answer(res, 404);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return answer(res, 404);
    const size = info.size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m) return answer(res, 416, { "content-range": `bytes */${size}` });
      start = Number(m[1]);
      end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (start >= size || end < start) return answer(res, 416, { "content-range": `bytes */${size}` });
      status = 206;
    }
    const length = end - start + 1;
    const body = Buffer.alloc(length);
    const fh = await open(file, "r");
    try {
      await fh.read(body, 0, length, start);
    } finally {
      await fh.close();
    }
    if (faults.corrupt) {
      for (let i = Math.max(start, faults.corrupt.from); i < Math.min(end + 1, faults.corrupt.to); i++) body[i - start]! ^= 0xff;
    }
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    res.writeHead(status, {
      "content-length": String(length),
      "accept-ranges": "bytes",
      ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
    });
    const sendBytes = faults.shortBodies ? Math.floor(length / 2) : length;
    for (let at = 0; at < sendBytes; at += CHUNK_BYTES) {
      if (res.destroyed) return;
      const chunk = body.subarray(at, Math.min(sendBytes, at + CHUNK_BYTES));
      stats.bytesServed += chunk.length;
      stats.firstByteAt ||= Date.now();
      const full = !res.write(chunk);
      stats.lastByteAt = Date.now();
      const rate = faults.bytesPerSecond ?? 0;
      if (rate > 0) await new Promise((r) => setTimeout(r, (chunk.length * 1000) / rate));
      else if (full) await new Promise((r) => res.once("drain", r));
    }
    if (sendBytes < length) {
      // The promised length never comes: the client sees the connection end mid-body.
      res.destroy();
      return;
    }
    res.end();
  }

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new TestkitError("EARLY_EXIT", "web seed server has no TCP address", { context: { root } });
  }
  const base = `http://127.0.0.1:${address.port}`;
  return {
    url: `${base}/`,
    loopUrl: `${base}/loop/`,
    movedUrl: `${base}/moved/`,
    faults,
    stats,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
