import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "@shoal/service-kit";

/** What `/healthz` reports: every backend the service needs, up or not. */
export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface OpsServerOptions {
  /** 0 picks a free port (logged by the caller from `port`). */
  readonly port: number;
  readonly host?: string;
  readonly registry: Registry;
  readonly health: () => HealthReport;
  readonly logger: Logger;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operations endpoint of a service: `GET /metrics` in the Prometheus text format and
 * `GET /healthz`, 200 with `{"ok":true,...}` while every backend is connected and 503 with the
 * failing checks otherwise (a readiness and liveness probe both read it).
 */
export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": o.registry.contentType }).end(text),
        (err: unknown) => {
          o.logger.error({ err, op: "ops.metrics" }, "collecting metrics failed");
          res.writeHead(500, { "content-type": "text/plain" }).end("collecting metrics failed\n");
        },
      );
      return;
    }
    if (path === "/healthz") {
      const report = o.health();
      res.writeHead(report.ok ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(report)}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
