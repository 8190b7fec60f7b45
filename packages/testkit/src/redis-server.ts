import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { awaitReady } from "./await-ready.js";
import { requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { startProcess } from "./managed-process.js";
import type { ManagedProcess } from "./managed-process.js";
import { waitForFreePort } from "./port-free.js";
import { respCommand } from "./resp-command.js";
import { PLACED_BIND_HOST, type NetworkPlacement } from "./network-placement.js";

export interface RedisServerOptions {
  /**
   * Log every write to an append-only file (fsync every second), so data survives `restart()`.
   * Off by default: most tests want a fast, empty server.
   */
  readonly appendOnly?: boolean;
  /** Data directory (kept by `stop()`); default a fresh temporary one that `stop()` removes. */
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  /** Run in a lab namespace (`startNetnsLab`) instead of on the test's loopback. */
  readonly placement?: NetworkPlacement;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`; with a placement, `redis://<lab address>:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Where the append-only file lives. */
  readonly dir: string;
  /** Output of every run of the server, appended across restarts. */
  readonly logPath: string;
  /** The current process; it changes with each restart. */
  readonly pid: number;
  /** Stops the server (a clean shutdown if it is running) and starts it on the same port and dir. */
  restart(): Promise<void>;
  /** SIGKILLs the server as a crash would; resolves once it is gone. `restart()` brings it back. */
  kill9(): Promise<void>;
  /** Shuts the server down and removes its temporary files; safe to call twice. */
  stop(): Promise<void>;
}

/** redis-server answers PING within tens of milliseconds; seconds mean it will not. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** A killed server's socket is released at once; this only bounds a stuck one. */
const PORT_RELEASE_TIMEOUT_MS = 5_000;
/** A probe that takes longer than this is retried, not waited for. */
const PROBE_TIMEOUT_MS = 500;

/**
 * Starts Debian's redis-server 7 on a free loopback port, with RDB snapshots off. Redis cannot
 * pick its own port (`--port 0` disables TCP), so the port is chosen first. Ready means it
 * answers PING with PONG (it answers -LOADING while it replays the append-only file).
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  requireExecutable("redis-server");
  const placement = opts.placement;
  // Placed, it listens on the namespace's every address; the port is picked on this side's
  // loopback, which is as good as any in a namespace of its own.
  const host = placement?.address ?? "127.0.0.1";
  const bind = placement === undefined ? host : PLACED_BIND_HOST;
  const work = await mkdtemp(join(tmpdir(), "shoal-redis-"));
  const dir = opts.dir ?? join(work, "data");
  const logPath = join(work, "redis-server.log");
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const appendOnly = opts.appendOnly ?? false;
  let proc: ManagedProcess;
  let port: number;
  let url: string;

  const launch = async (): Promise<ManagedProcess> => {
    const p = startProcess({
      name: `redis-server ${host}:${port}`,
      command: "redis-server",
      // Protected mode stays on for loopback; a placed server takes clients from its lab.
      args: [
        "--port", String(port), "--bind", bind, "--save", "", "--appendonly", appendOnly ? "yes" : "no", "--dir", dir,
        ...(placement === undefined ? [] : ["--protected-mode", "no"]),
      ],
      cwd: dir,
      logPath,
      ...(placement === undefined ? {} : { netns: placement.netns }),
    });
    const probeUrl = placement === undefined ? url : `redis://127.0.0.1:${await placement.reach(port)}`;
    await awaitReady([p], {
      what: p.name,
      timeoutMs,
      probe: async () => {
        const reply = await respCommand(probeUrl, ["PING"], { timeoutMs: PROBE_TIMEOUT_MS });
        if (reply !== "PONG") throw new Error(`PING answered ${JSON.stringify(reply)}`);
      },
    });
    return p;
  };

  try {
    await mkdir(dir, { recursive: true });
    port = await freePort(placement === undefined ? host : "127.0.0.1");
    url = `redis://${host}:${port}`;
    proc = await launch();
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }

  let stopped = false;
  return {
    url,
    host,
    port,
    dir,
    logPath,
    get pid() {
      return proc.pid;
    },
    async restart() {
      await proc.stop();
      await waitForFreePort(host, port, PORT_RELEASE_TIMEOUT_MS);
      proc = await launch();
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
