import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireExecutable } from "./executables.js";
import { startProcess, type ManagedProcess } from "./managed-process.js";
import type { NetworkPlacement } from "./network-placement.js";
import { TestkitError } from "./testkit-error.js";

export interface NetnsLabOptions {
  /** Namespaces for peer-workers, each its own "machine" with a capped link. */
  readonly workers: number;
  /** The cap of each worker's link, in bytes per second, in each direction. */
  readonly workerRateBytesPerSec: number;
}

/** One namespace of a lab: a "machine" with one address on the lab network. */
export interface LabHost {
  readonly netns: string;
  readonly address: string;
  /** Servers started with this placement run here and listen on every address of it. */
  readonly placement: NetworkPlacement;
}

/** A private network of namespaces joined by a bridge; see `startNetnsLab`. */
export interface NetnsLab {
  /** `shoallab-<pid>-<random>`: the prefix of every namespace of the lab. */
  readonly name: string;
  /** The lab's /24, `10.X.Y.0/24`. */
  readonly subnet: string;
  /** Seeds, tracker, Redis, NATS, the S3 server and the services that are not measured. */
  readonly infra: LabHost;
  /** One per worker; index i is `<name>-w<i+1>` at `10.X.Y.<11+i>`. */
  readonly workers: readonly LabHost[];
  /** Every namespace the lab made, the bridge's included. */
  readonly namespaces: readonly string[];
  /** Every process running in the lab's namespaces now (for CPU accounting). */
  pids(): number[];
  /** Stops the forwarders, kills every process left in the lab's namespaces, deletes them. */
  close(): Promise<void>;
}

/** Names begin with this, so a sweep can find the labs of processes that died without cleaning up. */
export const NETNS_LAB_PREFIX = "shoallab-";
/** Host numbers in the /24: the infra namespace, then the workers from here on. */
const INFRA_HOST = 1;
const FIRST_WORKER_HOST = 11;
/** Worker namespaces a /24 leaves room for after the infra and reserved host numbers. */
const MAX_WORKERS = 200;
/** The interface name inside every host namespace (names are per namespace, so never collide). */
const LAB_IFACE = "lab0";
/**
 * tbf lets a burst through at line rate; a tenth of a second of the rate keeps TCP's window
 * growth smooth, and at least 64 KiB lets one segmentation-offload packet pass whole.
 */
const MIN_BURST_BYTES = 64 * 1024;
/**
 * A shallow queue at the cap, as on a switch port rather than a home router. A worker's link is
 * busy both ways (pieces in, the same bytes out to the bus), and each direction's ACKs wait in
 * the other direction's queue: with 100 ms queues the bus connection's round trip grew to 180 ms,
 * its window covered a quarter of the uplink (0.5 of 2 MB/s measured), staged pieces piled up
 * and their publishes timed out. Fair queueing (fq_codel) would be the better cure; this
 * machine's kernel has no qdisc modules but tbf and htb.
 */
const QUEUE_LATENCY_MS = 20;
/** `ip` and `tc` calls answer in milliseconds; this only bounds a hung one. */
const IP_TIMEOUT_MS = 10_000;

/** Labs of this process not closed yet: name -> what removes it (synchronous). */
const liveLabs = new Map<string, () => void>();
let hooksInstalled = false;

/**
 * Why this machine cannot have a lab, or undefined when it can: namespaces, links and qdiscs
 * need Linux, root, and a kernel (or container) that lets root create a network namespace.
 * A missing program is not a reason: `startNetnsLab` then fails with MISSING_BINARY and the
 * package to install, as every other fixture does.
 */
export function netnsLabUnsupported(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return "network namespaces, links and tc qdiscs need root";
  try {
    requireExecutable("ip");
  } catch {
    return undefined;
  }
  const probe = `${NETNS_LAB_PREFIX}${process.pid}-probe${randomInt(1e9)}`;
  try {
    ip(["netns", "add", probe]);
    ip(["netns", "del", probe]);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * Builds a lab: namespace `<name>-br` holds a bridge and nothing else (no address, no link to
 * the host, so no lab traffic reaches the host's network nor the host's loopback servers);
 * `<name>-infra` and one `<name>-w<i>` per worker each get a veth into the bridge with an address
 * of one random 10.X.Y.0/24 and loopback up. Each worker's link is capped by a tbf qdisc on both
 * ends: on the worker's side (its upload) and on the bridge's side (its download).
 *
 * Processes go in with `startProcess({ netns })`; servers with a launcher's `placement` option
 * (`lab.infra.placement`). Everything is removed by `close()`, by an exit hook and on SIGINT,
 * SIGTERM and SIGHUP; a lab left by a process killed outright is removed by the next lab's
 * start (its name carries the dead owner's pid).
 */
export async function startNetnsLab(opts: NetnsLabOptions): Promise<NetnsLab> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > MAX_WORKERS) {
    throw new TestkitError("BAD_ARGUMENT", `lab workers must be an integer from 1 to ${MAX_WORKERS}, got ${opts.workers}`, { context: { workers: opts.workers } });
  }
  if (!Number.isFinite(opts.workerRateBytesPerSec) || opts.workerRateBytesPerSec < 10_000) {
    throw new TestkitError("BAD_ARGUMENT", `lab worker rate must be at least 10000 bytes/s, got ${opts.workerRateBytesPerSec}`, {
      context: { rate: opts.workerRateBytesPerSec },
    });
  }
  for (const bin of ["ip", "tc", "socat"]) requireExecutable(bin);
  const unsupported = netnsLabUnsupported();
  if (unsupported !== undefined) throw new TestkitError("BAD_ARGUMENT", `cannot build a network lab here: ${unsupported}`);
  sweepStaleLabs();
  installHooks();

  const name = `${NETNS_LAB_PREFIX}${process.pid}-${randomInt(36 ** 4).toString(36)}`;
  // 10.X.Y.0/24 with X from 64: the low 10.0-10.63 ranges are the ones sites and VPNs use most.
  const base = `10.${randomInt(64, 255)}.${randomInt(0, 256)}`;
  const bridgeNs = `${name}-br`;
  const hosts = [
    { netns: `${name}-infra`, address: `${base}.${INFRA_HOST}`, capped: false },
    ...Array.from({ length: opts.workers }, (_, i) => ({ netns: `${name}-w${i + 1}`, address: `${base}.${FIRST_WORKER_HOST + i}`, capped: true })),
  ];
  const namespaces = [bridgeNs, ...hosts.map((h) => h.netns)];
  const sockDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const forwards: { proc: ManagedProcess; server: Server; sockets: Set<Socket> }[] = [];

  const destroy = (): void => {
    destroyLab(namespaces);
    rmSync(sockDir, { recursive: true, force: true });
    liveLabs.delete(name);
  };
  liveLabs.set(name, destroy);
  try {
    for (const ns of namespaces) ip(["netns", "add", ns]);
    ip(["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", bridgeNs, "link", "set", "br0", "up"]);
    const rate = `${Math.round(opts.workerRateBytesPerSec * 8)}bit`;
    const burst = `${Math.max(MIN_BURST_BYTES, Math.round(opts.workerRateBytesPerSec / 10))}b`;
    const tbf = ["root", "tbf", "rate", rate, "burst", burst, "latency", `${QUEUE_LATENCY_MS}ms`];
    hosts.forEach((h, i) => {
      const port = `port${i}`;
      ip(["-n", bridgeNs, "link", "add", port, "type", "veth", "peer", "name", LAB_IFACE, "netns", h.netns]);
      ip(["-n", bridgeNs, "link", "set", port, "master", "br0", "up"]);
      ip(["-n", h.netns, "addr", "add", `${h.address}/24`, "dev", LAB_IFACE]);
      ip(["-n", h.netns, "link", "set", LAB_IFACE, "up"]);
      ip(["-n", h.netns, "link", "set", "lo", "up"]);
      if (h.capped) {
        tc(["-n", h.netns, "qdisc", "add", "dev", LAB_IFACE, ...tbf]);
        tc(["-n", bridgeNs, "qdisc", "add", "dev", port, ...tbf]);
      }
    });
  } catch (err) {
    destroy();
    throw err;
  }

  let forwardCount = 0;
  /** A loopback port of this process that socat, inside `netns`, connects to `port` there. */
  const forward = async (netns: string, port: number): Promise<number> => {
    const sock = join(sockDir, `f${forwardCount++}.sock`);
    // Path-bound Unix sockets are not tied to a network namespace: the one file joins the
    // namespace's loopback with this process, and the host's network never sees the lab.
    const proc = startProcess({
      name: `forward ${netns} 127.0.0.1:${port}`,
      command: "socat",
      args: [`UNIX-LISTEN:${sock},fork,mode=600`, `TCP4:127.0.0.1:${port}`],
      logPath: join(sockDir, `f${forwardCount}.log`),
      netns,
    });
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(sock);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once("close", () => sockets.delete(s));
      }
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    forwards.push({ proc, server, sockets });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    return typeof addr === "object" && addr !== null ? addr.port : 0;
  };

  const toHost = (h: { netns: string; address: string }): LabHost => {
    const reached = new Map<number, Promise<number>>();
    return {
      netns: h.netns,
      address: h.address,
      placement: {
        netns: h.netns,
        address: h.address,
        reach(port) {
          let p = reached.get(port);
          if (p === undefined) reached.set(port, (p = forward(h.netns, port)));
          return p;
        },
      },
    };
  };
  const [infra, ...workers] = hosts.map(toHost);
  let closed = false;
  return {
    name,
    subnet: `${base}.0/24`,
    infra: infra!,
    workers,
    namespaces,
    pids: () => namespaces.flatMap(namespacePids),
    async close() {
      if (closed) return;
      closed = true;
      for (const f of forwards) {
        for (const s of f.sockets) s.destroy();
        f.server.close();
      }
      await Promise.all(forwards.map((f) => f.proc.stop()));
      destroy();
    },
  };
}

/** Lab namespaces present on this machine now (`ip netns list`), any owner. */
export function labNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8", timeout: IP_TIMEOUT_MS });
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(NETNS_LAB_PREFIX));
}

/**
 * Deletes the namespaces of labs whose owner process is gone (SIGKILLed, or the machine's
 * power cut before `close()`), killing whatever still runs in them. Labs of live processes,
 * another test's running at the same time among them, are left alone.
 */
export function sweepStaleLabs(): string[] {
  const stale = labNamespaces().filter((ns) => {
    const pid = Number(/^shoallab-(\d+)-/.exec(ns)?.[1] ?? NaN);
    return Number.isInteger(pid) && pid !== process.pid && !processAlive(pid);
  });
  destroyLab(stale);
  // Their forwarders' socket directories (`<lab name>-` and six random characters, in the temporary directory).
  const dead = new Set(stale.map((ns) => /^(shoallab-\d+-[a-z0-9]+)-/.exec(ns)?.[1]).filter((n) => n !== undefined));
  for (const entry of readdirSync(tmpdir())) {
    const lab = /^(shoallab-\d+-[a-z0-9]+)-/.exec(entry)?.[1];
    if (lab !== undefined && dead.has(lab)) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  return stale;
}

/** The pids running in a namespace; none when it is gone. */
function namespacePids(ns: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: IP_TIMEOUT_MS }).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Kills every process in the namespaces and deletes them; synchronous, so it runs from an exit
 * hook. Deleting the bridge's namespace removes every veth pair with it.
 */
function destroyLab(namespaces: readonly string[]): void {
  for (const ns of namespaces) {
    for (const pid of namespacePids(ns)) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore", timeout: IP_TIMEOUT_MS });
    } catch {
      // Already gone.
    }
  }
}

/**
 * A namespace outlives the process that made it (unlike a child, which the parent-death signal
 * takes down), so labs are removed on exit and on the usual termination signals. The signal
 * handler removes itself and, if nobody else listens, raises the signal again, so the process
 * still ends the way it would have without a lab.
 */
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const destroyAll = (): void => {
    for (const destroy of [...liveLabs.values()]) destroy();
  };
  process.once("exit", destroyAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = (): void => {
      destroyAll();
      process.removeListener(sig, handler);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

function ip(args: readonly string[]): void {
  run("ip", args);
}

function tc(args: readonly string[]): void {
  run("tc", args);
}

function run(cmd: string, args: readonly string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], timeout: IP_TIMEOUT_MS });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
    throw new TestkitError("EARLY_EXIT", `${cmd} ${args.join(" ")} failed: ${stderr || (err as Error).message}`, { context: { cmd, args: [...args] } });
  }
}
