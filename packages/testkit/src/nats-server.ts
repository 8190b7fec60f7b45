import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { awaitReady } from "./await-ready.js";
import { requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { PLACED_BIND_HOST, type NetworkPlacement } from "./network-placement.js";
import { httpRequest } from "./http-json.js";
import { startProcess } from "./managed-process.js";
import type { ManagedProcess } from "./managed-process.js";
import { waitForFreePort } from "./port-free.js";

export interface NatsServerOptions {
  /** JetStream store directory (kept by `stop()`); default a temporary one that `stop()` removes. */
  readonly storeDir?: string;
  readonly readyTimeoutMs?: number;
  /** Run in a lab namespace (`startNetnsLab`) instead of on the test's loopback. */
  readonly placement?: NetworkPlacement;
  /**
   * The server's `max_payload`, `NATS_MAX_PAYLOAD_BYTES` when not given; 1048576 is a stock
   * nats-server's, under which pieces of 1 MiB and more travel in chunks.
   */
  readonly maxPayloadBytes?: number;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` of the monitoring endpoint (/varz, /jsz, /healthz). */
  readonly monitorUrl: string;
  /** JetStream file storage; the server keeps its streams under `<storeDir>/jetstream`. */
  readonly storeDir: string;
  /** The `max_payload` the server announces. */
  readonly maxPayloadBytes: number;
  /** Output of every run of the server, appended across restarts. */
  readonly logPath: string;
  /** The current process; it changes with each restart. */
  readonly pid: number;
  /** Stops the server (cleanly if it is running) and starts it on the same ports and store dir. */
  restart(): Promise<void>;
  /** SIGKILLs the server as a crash would; resolves once it is gone. `restart()` brings it back. */
  kill9(): Promise<void>;
  /** Shuts the server down and removes its temporary files; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Largest message a client may publish. The bus carries piece data, and 8 MiB is the largest
 * limit nats-server 2.9 takes without warning that bigger payloads are discouraged.
 */
export const NATS_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

/** nats-server is ready in about 15 ms; JetStream recovery of a few test streams in well under 1 s. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** A killed server's sockets are released at once; this only bounds a stuck one. */
const PORT_RELEASE_TIMEOUT_MS = 5_000;
/** A probe that takes longer than this is retried, not waited for. */
const PROBE_TIMEOUT_MS = 500;

/**
 * Starts Debian's nats-server 2.9 with JetStream on free loopback ports (clients and HTTP
 * monitoring), from a config file. Ready means /healthz says ok, /jsz shows JetStream enabled,
 * and the client port greets with an INFO that announces JetStream and the payload limit.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  requireExecutable("nats-server");
  const placement = opts.placement;
  const host = placement?.address ?? "127.0.0.1";
  const bind = placement === undefined ? host : PLACED_BIND_HOST;
  const work = await mkdtemp(join(tmpdir(), "shoal-nats-"));
  const storeDir = opts.storeDir ?? join(work, "jetstream");
  const logPath = join(work, "nats-server.log");
  const configPath = join(work, "nats-server.conf");
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const maxPayloadBytes = opts.maxPayloadBytes ?? NATS_MAX_PAYLOAD_BYTES;
  let port: number;
  let monitorPort: number;
  let proc: ManagedProcess;

  const launch = async (): Promise<ManagedProcess> => {
    const p = startProcess({
      name: `nats-server ${host}:${port}`,
      command: "nats-server",
      args: ["-c", configPath],
      cwd: work,
      logPath,
      ...(placement === undefined ? {} : { netns: placement.netns }),
    });
    const [probeHost, probePort, probeMonitor] =
      placement === undefined ? [host, port, monitorPort] : ["127.0.0.1", await placement.reach(port), await placement.reach(monitorPort)];
    await awaitReady([p], { what: p.name, timeoutMs, probe: () => probeNats(probeHost, probePort, probeMonitor, maxPayloadBytes) });
    return p;
  };

  try {
    await mkdir(storeDir, { recursive: true });
    // Ports are chosen here rather than with `-1` so that a restart reuses them.
    port = await freePort(placement === undefined ? host : "127.0.0.1");
    monitorPort = await freePort(placement === undefined ? host : "127.0.0.1");
    await writeFile(
      configPath,
      [
        `listen: "${bind}:${port}"`,
        `http: "${bind}:${monitorPort}"`,
        `max_payload: ${maxPayloadBytes}`,
        `jetstream {`,
        `  store_dir: ${JSON.stringify(storeDir)}`,
        `}`,
        "",
      ].join("\n"),
    );
    proc = await launch();
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }

  const restartOnSamePorts = async (): Promise<void> => {
    await waitForFreePort(host, port, PORT_RELEASE_TIMEOUT_MS);
    await waitForFreePort(host, monitorPort, PORT_RELEASE_TIMEOUT_MS);
    proc = await launch();
  };
  let stopped = false;
  return {
    url: `nats://${host}:${port}`,
    host,
    port,
    monitorUrl: `http://${host}:${monitorPort}`,
    storeDir,
    maxPayloadBytes,
    logPath,
    get pid() {
      return proc.pid;
    },
    async restart() {
      await proc.stop();
      await restartOnSamePorts();
    },
    async kill9() {
      proc.kill9();
      await proc.exited;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Throws with the reason while the server is not ready. */
async function probeNats(host: string, port: number, monitorPort: number, maxPayloadBytes: number): Promise<void> {
  const monitor = `http://${host}:${monitorPort}`;
  const health = await httpRequest(`${monitor}/healthz`, { timeoutMs: PROBE_TIMEOUT_MS });
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}: ${health.body.toString()}`);
  const jsz = JSON.parse((await httpRequest(`${monitor}/jsz`, { timeoutMs: PROBE_TIMEOUT_MS })).body.toString()) as {
    disabled?: boolean;
    config?: unknown;
  };
  if (jsz.disabled === true || jsz.config === undefined) throw new Error("/jsz says JetStream is not enabled");
  const info = await readInfo(host, port);
  if (info["jetstream"] !== true) throw new Error(`INFO does not announce JetStream: ${JSON.stringify(info)}`);
  if (info["max_payload"] !== maxPayloadBytes) {
    throw new Error(`INFO announces max_payload ${String(info["max_payload"])}, not ${maxPayloadBytes}`);
  }
}

/** The INFO line a NATS server sends first on every client connection, as JSON. */
function readInfo(host: string, port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = "";
    const sock = connect({ host, port });
    sock.setTimeout(PROBE_TIMEOUT_MS, () => sock.destroy(new Error(`no INFO within ${PROBE_TIMEOUT_MS} ms`)));
    sock.once("error", reject);
    sock.once("close", () => reject(new Error("connection closed before INFO")));
    sock.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const end = text.indexOf("\r\n");
      if (end < 0) return;
      sock.destroy();
      const line = text.slice(0, end);
      if (!line.startsWith("INFO ")) return reject(new Error(`greeting is not INFO: ${line.slice(0, 80)}`));
      try {
        resolve(JSON.parse(line.slice(5)) as Record<string, unknown>);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
