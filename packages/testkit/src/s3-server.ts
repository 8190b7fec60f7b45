import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { awaitReady } from "./await-ready.js";
import { SYSTEM_PYTHON, requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { httpRequest } from "./http-json.js";
import { startProcess } from "./managed-process.js";
import type { ManagedProcess } from "./managed-process.js";
import { PLACED_BIND_HOST, type NetworkPlacement } from "./network-placement.js";
import { pyScript } from "./package-root.js";
import { waitForFreePort } from "./port-free.js";
import { runProcess } from "./run-process.js";
import { s3TestClient } from "./s3-test-client.js";
import type { S3TestClient } from "./s3-test-client.js";
import {
  SWIFT_S3_ACCESS_KEY_ID,
  SWIFT_S3_REGION,
  SWIFT_S3_SECRET_ACCESS_KEY,
  SWIFT_SERVER_KINDS,
  swiftServerConfig,
} from "./swift-config.js";
import type { SwiftLayout } from "./swift-config.js";

export interface S3ServerOptions {
  /**
   * Parent of the Swift device directory that holds all buckets and objects (kept by `stop()`);
   * default a temporary one that `stop()` removes.
   */
  readonly dir?: string;
  readonly readyTimeoutMs?: number;
  /**
   * Run in a lab namespace (`startNetnsLab`): the proxy listens on the lab address too, the
   * other servers stay on the namespace's loopback, and the checks below go through forwarded
   * ports.
   */
  readonly placement?: NetworkPlacement;
}

/** An S3 endpoint (OpenStack Swift with s3api) plus the testkit's own client for checks. */
export interface S3Server extends S3TestClient {
  /** `http://127.0.0.1:<port>` (with a placement, the lab address); use path-style requests. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** Where the objects are stored (the `dir` option, or a temporary directory). */
  readonly dataDir: string;
  /** One log per process (memcached, account, container, object, proxy), appended across restarts. */
  readonly logDir: string;
  /** Stops every server process (cleanly if running) and starts them on the same ports and data. */
  restart(): Promise<void>;
  /** SIGKILLs every server process as a crash would; resolves once all are gone. */
  kill9(): Promise<void>;
  /** Shuts the servers down and removes their temporary files; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Four Swift servers each import all of Swift (about 1 s of CPU apiece) at once. A start takes
 * 2-7 s on two busy cores, and up to 15 s has been seen; the deadline is generous but shorter
 * than vitest's 60 s hook timeout, so a hung start fails with the logs in the error.
 */
const DEFAULT_READY_TIMEOUT_MS = 45_000;
/** Building three one-device rings is one Python start (about 1 s) plus milliseconds of work. */
const RING_BUILD_TIMEOUT_MS = 30_000;
/** A killed server's sockets are released at once; this only bounds a stuck one. */
const PORT_RELEASE_TIMEOUT_MS = 5_000;
/** Loopback probes answer in milliseconds once a server is up; a slower one is retried. */
const PROBE_TIMEOUT_MS = 2_000;
/** The device directory the rings name; with one device it holds all data. */
const DEVICE = "d1";
const HOST = "127.0.0.1";

/**
 * Starts an S3 server on loopback: OpenStack Swift 2.30 (Debian's account, container, object
 * and proxy servers) with the s3api and tempauth middlewares, plus the memcached tempauth
 * needs, each on a free port. It checks real SigV4 signatures and implements multipart uploads
 * as static large objects (ETags `<md5>-<parts>`). Ready means every backend accepts
 * connections, the proxy's /healthcheck says OK and a signed ListBuckets succeeds.
 */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  for (const kind of SWIFT_SERVER_KINDS) requireExecutable(`swift-${kind}-server`);
  requireExecutable("memcached");
  requireExecutable(SYSTEM_PYTHON);
  const work = await mkdtemp(join(tmpdir(), "shoal-s3-"));
  const logDir = join(work, "log");
  const dataDir = opts.dir ?? join(work, "srv");
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  let layout: SwiftLayout;
  const placement = opts.placement;
  let client: S3TestClient;
  let endpoint: string;
  let procs: ManagedProcess[];
  /** Where this process reaches each server's port: itself, or a forward into the namespace. */
  let reach: (port: number) => Promise<number>;

  const launch = async (): Promise<ManagedProcess[]> => {
    const started = spawnCluster(layout, work, logDir, placement?.netns);
    await awaitReady(started, { what: `S3 server (Swift) at ${endpoint}`, timeoutMs, probe: () => probeSwift(layout, client, reach) });
    return started;
  };

  try {
    await mkdir(logDir);
    layout = await prepareCluster(join(work, "etc"), dataDir, placement === undefined ? HOST : PLACED_BIND_HOST);
    endpoint = `http://${placement?.address ?? HOST}:${layout.ports.proxy}`;
    reach = placement === undefined ? async (port) => port : (port) => placement.reach(port);
    const checkEndpoint = `http://${HOST}:${await reach(layout.ports.proxy)}`;
    client = s3TestClient({ endpoint: checkEndpoint, accessKeyId: SWIFT_S3_ACCESS_KEY_ID, secretAccessKey: SWIFT_S3_SECRET_ACCESS_KEY, region: SWIFT_S3_REGION });
    procs = await launch();
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }

  const allPorts = [...SWIFT_SERVER_KINDS.map((k) => layout.ports[k]), layout.memcachePort];
  let stopped = false;
  return {
    endpoint,
    host: placement?.address ?? HOST,
    port: layout.ports.proxy,
    accessKeyId: SWIFT_S3_ACCESS_KEY_ID,
    secretAccessKey: SWIFT_S3_SECRET_ACCESS_KEY,
    region: SWIFT_S3_REGION,
    dataDir,
    logDir,
    listBuckets: () => client.listBuckets(),
    createBucket: (name) => client.createBucket(name),
    listObjects: (bucket, prefix) => client.listObjects(bucket, prefix),
    getObject: (bucket, key) => client.getObject(bucket, key),
    headObject: (bucket, key) => client.headObject(bucket, key),
    listMultipartUploads: (bucket, prefix) => client.listMultipartUploads(bucket, prefix),
    putObject: (bucket, key, body) => client.putObject(bucket, key, body),
    deleteObject: (bucket, key) => client.deleteObject(bucket, key),
    async restart() {
      await Promise.all(procs.map((p) => p.stop()));
      for (const port of allPorts) await waitForFreePort(HOST, port, PORT_RELEASE_TIMEOUT_MS);
      procs = await launch();
    },
    async kill9() {
      for (const p of procs) p.kill9();
      await Promise.all(procs.map((p) => p.exited));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(procs.map((p) => p.stop()));
      await rm(work, { recursive: true, force: true });
    },
  };
}

/**
 * Picks the ports and writes what stays fixed for the cluster's life: the config files and
 * the rings (which name every backend's port, so a restart must reuse them).
 */
async function prepareCluster(etcDir: string, dataDir: string, proxyBindIp: string): Promise<SwiftLayout> {
  await Promise.all([mkdir(etcDir), mkdir(join(dataDir, DEVICE), { recursive: true })]);
  const layout: SwiftLayout = {
    etcDir,
    devicesDir: dataDir,
    device: DEVICE,
    user: userInfo().username,
    ports: { account: await freePort(HOST), container: await freePort(HOST), object: await freePort(HOST), proxy: await freePort(HOST) },
    memcachePort: await freePort(HOST),
    proxyBindIp,
  };
  await Promise.all(SWIFT_SERVER_KINDS.map((kind) => writeFile(join(etcDir, `${kind}-server.conf`), swiftServerConfig(kind, layout))));
  const { ports } = layout;
  await runProcess(
    SYSTEM_PYTHON,
    ["-I", pyScript("swift_rings.py"), etcDir, DEVICE, String(ports.account), String(ports.container), String(ports.object)],
    { timeoutMs: RING_BUILD_TIMEOUT_MS, check: true },
  );
  return layout;
}

/** Starts memcached and the four Swift servers at once; readiness is checked by the caller. */
function spawnCluster(layout: SwiftLayout, cwd: string, logDir: string, netns: string | undefined): ManagedProcess[] {
  const where = netns === undefined ? {} : { netns };
  return [
    startProcess({
      name: `memcached ${HOST}:${layout.memcachePort}`,
      command: "memcached",
      // One thread and no UDP: it only caches tempauth tokens and account and container info.
      // memcached refuses to run as root unless told which user to be.
      args: ["-l", HOST, "-p", String(layout.memcachePort), "-U", "0", "-t", "1", ...(layout.user === "root" ? ["-u", "root"] : [])],
      cwd,
      logPath: join(logDir, "memcached.log"),
      ...where,
    }),
    ...SWIFT_SERVER_KINDS.map((kind) =>
      startProcess({
        name: `swift-${kind}-server ${HOST}:${layout.ports[kind]}`,
        command: `swift-${kind}-server`,
        // -v copies the log to the console, that is to the log file.
        args: [join(layout.etcDir, `${kind}-server.conf`), "-v"],
        cwd,
        // Every address in the cluster is a numeric loopback one, so eventlet's green DNS
        // resolver (it imports dnspython and requests) is dead weight; without it each
        // server starts about 20% faster on a busy machine.
        env: { ...process.env, EVENTLET_NO_GREENDNS: "yes" },
        logPath: join(logDir, `${kind}.log`),
        ...where,
      }),
    ),
  ];
}

/** Throws with the reason while some part of the cluster is not ready. */
async function probeSwift(layout: SwiftLayout, client: S3TestClient, reach: (port: number) => Promise<number>): Promise<void> {
  const { ports } = layout;
  for (const [name, port, hello] of [
    ["memcached", layout.memcachePort, "version\r\n"],
    ["account server", ports.account, HTTP_HELLO],
    ["container server", ports.container, HTTP_HELLO],
    ["object server", ports.object, HTTP_HELLO],
  ] as const) {
    await answers(await reach(port), hello).catch((err: Error) => {
      throw new Error(`${name} on port ${port}: ${err.message}`);
    });
  }
  const health = await httpRequest(`http://${HOST}:${await reach(ports.proxy)}/healthcheck`, { timeoutMs: PROBE_TIMEOUT_MS });
  if (health.status !== 200) throw new Error(`proxy /healthcheck answered ${health.status}: ${health.body.toString().slice(0, 200)}`);
  await client.listBuckets();
}

/** Any request: a Swift backend answers it (with an error status), which shows it serves. */
const HTTP_HELLO = "GET /healthcheck HTTP/1.0\r\n\r\n";

/**
 * Resolves once the loopback port answers `hello` with any bytes. An accepted connection is not
 * enough: a forward into a lab namespace accepts before it knows the server behind it is up.
 */
function answers(port: number, hello: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: HOST, port });
    sock.setTimeout(PROBE_TIMEOUT_MS, () => sock.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    sock.once("connect", () => sock.write(hello));
    sock.once("data", () => {
      sock.destroy();
      resolve();
    });
    sock.once("error", reject);
    sock.once("close", () => reject(new Error("closed without an answer")));
  });
}
