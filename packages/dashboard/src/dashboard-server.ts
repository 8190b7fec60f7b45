import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JobQueue } from "@shoal/coordination";
import { cancelJob, submitJob, submitProblemOf, torrentUrlSource } from "@shoal/runtime";
import { ConfigError, type Logger } from "@shoal/service-kit";
import type { ClusterWatch, DashboardEvent } from "./cluster-watch.js";
import { readSubmitForm } from "./submit-form.js";

/**
 * Largest request body: a .torrent's metadata may be 30 MiB (the metainfo limit), which is 40 MiB
 * in base64, plus the form's other fields.
 */
const MAX_BODY_BYTES = 42 * 1024 * 1024;
/**
 * A client whose socket holds this much unsent data is dropped rather than buffered for: its
 * EventSource reconnects and gets the current state, which replaces everything it missed.
 */
const MAX_CLIENT_BACKLOG_BYTES = 8 * 1024 * 1024;
/** A comment line this often keeps idle connections open through proxies that time them out. */
const KEEPALIVE_MS = 15_000;

const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/**
 * Everything on the page comes from this server, and no inline script or style runs: escaping
 * mistakes in the page cannot turn a torrent's name into code.
 */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export interface DashboardServerDeps {
  readonly watch: ClusterWatch;
  readonly queue: JobQueue;
  readonly logger: Logger;
  /** `--s3` as given, for the bucket check of a submission; the environment's otherwise. */
  readonly s3Flag: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The page, its event stream (`/events`), submit and cancel (`/api/...`) and `/healthz`. */
export async function startDashboardServer(host: string, port: number, deps: DashboardServerDeps): Promise<DashboardServer> {
  const staticDir = new URL("../static/", import.meta.url);
  const files = new Map<string, Buffer>();
  for (const [path, { file }] of Object.entries(STATIC_FILES)) files.set(path, await readFile(new URL(file, staticDir)));
  const streams = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err, op: "dashboard.http", url: req.url }, "request failed");
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://dashboard").pathname;
    if (req.method === "GET" && STATIC_FILES[path]) {
      res.writeHead(200, { "content-type": STATIC_FILES[path].type, "cache-control": "no-cache", ...SECURITY_HEADERS }).end(files.get(path));
      return;
    }
    if (req.method === "GET" && path === "/events") return events(req, res);
    if (req.method === "GET" && path === "/healthz") {
      json(res, 200, { clients: deps.watch.clients });
      return;
    }
    if (req.method === "POST" && path === "/api/jobs") return submit(req, res);
    const cancel = /^\/api\/jobs\/([^/]+)\/cancel$/.exec(path);
    if (req.method === "POST" && cancel) return cancelRoute(req, res, decodeURIComponent(cancel[1]!));
    json(res, 404, { error: `no such page: ${req.method ?? "?"} ${path}` });
  }

  function events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...SECURITY_HEADERS });
    // Tells EventSource to come back within two seconds after the server restarts.
    res.write("retry: 2000\n\n");
    streams.add(res);
    const send = (e: DashboardEvent) => {
      if (res.writableLength > MAX_CLIENT_BACKLOG_BYTES) {
        deps.logger.warn({ op: "dashboard.events", backlog: res.writableLength }, "dropping a client that does not read its events");
        res.destroy();
        return;
      }
      res.write(`event: ${e.type}\ndata: ${e.data}\n\n`);
    };
    const unsubscribe = deps.watch.subscribe(send);
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    req.on("close", () => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(res);
    });
  }

  async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await jsonBody(req, res);
    if (body === undefined) return;
    try {
      const form = readSubmitForm(body);
      const source = form.torrent ? { kind: "torrent" as const, base64: form.torrent.base64 } : torrentUrlSource(form.url ?? "");
      const sourceLabel = form.torrent ? form.torrent.name : (form.url ?? "");
      const { jobId, destination } = await submitJob(deps.queue, { ...form.options, source, sourceLabel }, deps.s3Flag, deps.env);
      deps.logger.info({ op: "dashboard.submit", jobId, destination }, "job queued");
      deps.watch.poke();
      json(res, 201, { jobId, destination });
    } catch (err) {
      if (err instanceof ConfigError || submitProblemOf(err) !== undefined) {
        json(res, 400, { error: (err as Error).message });
        return;
      }
      json(res, 503, { error: `job not queued: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  async function cancelRoute(req: IncomingMessage, res: ServerResponse, jobId: string): Promise<void> {
    if ((await jsonBody(req, res)) === undefined) return;
    try {
      const outcome = await cancelJob(deps.queue, jobId);
      deps.logger.info({ op: "dashboard.cancel", jobId, outcome: outcome.kind }, outcome.message);
      deps.watch.poke();
      json(res, outcome.kind === "unknown" ? 404 : 200, outcome.kind === "unknown" ? { error: outcome.message } : { message: outcome.message });
    } catch (err) {
      json(res, 503, { error: `job ${jobId} not cancelled: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  /**
   * The body of a POST as JSON. Requests must say `application/json` and, when a browser sends
   * an Origin, come from this page: a form or script on another site cannot send either, so it
   * cannot queue or cancel jobs through a browser that can reach the dashboard.
   */
  async function jsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const origin = req.headers["origin"];
    if (origin !== undefined && origin !== `http://${req.headers["host"] ?? ""}`) {
      json(res, 403, { error: `requests from ${origin} are refused: only the dashboard's own page may submit or cancel` });
      return undefined;
    }
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      json(res, 415, { error: "send the request as application/json" });
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        json(res, 413, { error: `request larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB (a .torrent's metadata is at most 30 MiB)` });
        req.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    try {
      return text === "" ? {} : (JSON.parse(text) as unknown);
    } catch {
      json(res, 400, { error: "the request body is not JSON" });
      return undefined;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}/`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS }).end(JSON.stringify(body));
}
