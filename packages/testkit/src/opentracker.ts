import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireExecutable } from "./executables.js";
import { freePort } from "./free-port.js";
import { startProcess } from "./managed-process.js";
import type { ManagedProcess } from "./managed-process.js";
import { PLACED_BIND_HOST, type NetworkPlacement } from "./network-placement.js";
import { TestkitError } from "./testkit-error.js";
import { announceProbe, trackerPeers } from "./tracker-probe.js";
import { waitFor } from "./wait-for.js";

export interface OpentrackerOptions {
  /** Info hashes (hex) the tracker serves. Debian's opentracker is built with a whitelist. */
  readonly infoHashes: readonly string[];
  readonly host?: string;
  readonly readyTimeoutMs?: number;
  /**
   * Run in a lab namespace (`startNetnsLab`): announce URLs name the lab address, and the
   * tracker records the lab address of each peer that announces over the lab network.
   */
  readonly placement?: NetworkPlacement;
}

export interface Opentracker {
  readonly host: string;
  /** One port for HTTP (TCP) and UDP. */
  readonly port: number;
  readonly httpAnnounce: string;
  readonly udpAnnounce: string;
  readonly pid: number;
  readonly logPath: string;
  /** "ip:port" of every peer the tracker lists for the torrent, via an HTTP announce probe. */
  peersOf(infoHashHex: string): Promise<string[]>;
  /** Adds info hashes to the whitelist and waits until the tracker serves them. */
  allow(infoHashes: readonly string[]): Promise<void>;
  /** Kills the tracker and starts it again on the same port; its peer lists start empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** opentracker starts in milliseconds; seconds mean it will not. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** Any info hash: a 'stopped' announce for it is answered (whitelisted or not) without side effects. */
const NOBODY_HASH = "00".repeat(20);

/**
 * Starts opentracker on a free port (HTTP and UDP). Running as root it would chroot and switch
 * to nobody itself, which makes the kernel forget the parent-death signal; so it is started as
 * nobody directly and its directory is world-readable.
 */
export async function startOpentracker(opts: OpentrackerOptions): Promise<Opentracker> {
  requireExecutable("opentracker");
  const placement = opts.placement;
  const host = placement?.address ?? opts.host ?? "127.0.0.1";
  const hashes = new Set(opts.infoHashes.map(normaliseHash));
  const dir = await mkdtemp(join(tmpdir(), "shoal-opentracker-"));
  await chmod(dir, 0o755);
  const whitelist = join(dir, "whitelist.txt");
  const writeWhitelist = async (): Promise<void> => {
    await writeFile(whitelist, [...hashes].map((h) => `${h}\n`).join(""));
    await chmod(whitelist, 0o644);
  };
  await writeWhitelist();
  const port = await freePort(placement === undefined ? host : "127.0.0.1");
  const httpAnnounce = `http://${host}:${port}/announce`;
  // This process's own announces (probes) go through a forward when the tracker is placed.
  const probeAnnounce = placement === undefined ? httpAnnounce : `http://127.0.0.1:${await placement.reach(port)}/announce`;
  const logPath = join(dir, "opentracker.log");
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  const launch = async (): Promise<ManagedProcess> => {
    const proc = startProcess({
      name: `opentracker ${host}:${port}`,
      command: "opentracker",
      args: ["-i", placement === undefined ? host : PLACED_BIND_HOST, "-p", String(port), "-P", String(port), "-d", dir, "-u", "nobody", "-w", "whitelist.txt"],
      cwd: dir,
      logPath,
      runAsUser: "nobody",
      ...(placement === undefined ? {} : { netns: placement.netns }),
    });
    try {
      await waitFor(
        async () => {
          proc.assertRunning("starting");
          return answers(probeAnnounce, NOBODY_HASH);
        },
        { timeoutMs, what: `opentracker on ${host}:${port} to answer`, describe: () => proc.logTail() },
      );
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  };

  let proc: ManagedProcess;
  try {
    proc = await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    host,
    port,
    httpAnnounce,
    udpAnnounce: `udp://${host}:${port}/announce`,
    get pid() {
      return proc.pid;
    },
    logPath,
    peersOf: (infoHashHex) => trackerPeers(probeAnnounce, normaliseHash(infoHashHex)),
    async allow(infoHashes) {
      const added = infoHashes.map(normaliseHash).filter((h) => !hashes.has(h));
      if (added.length === 0) return;
      added.forEach((h) => hashes.add(h));
      await writeWhitelist();
      // opentracker re-reads its whitelist on SIGHUP, in a thread of its own.
      process.kill(proc.pid, "SIGHUP");
      // A 'stopped' announce is answered without a whitelist check, so the probe must be a
      // real announce (taken back right away by trackerPeers).
      await waitFor(
        async () => {
          for (const h of added) {
            if (!(await trackerPeers(probeAnnounce, h).then(() => true, () => false))) return false;
          }
          return true;
        },
        { timeoutMs, what: `opentracker to serve ${added.join(", ")} after SIGHUP` },
      );
    },
    async restart() {
      await proc.stop();
      proc = await launch();
    },
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function answers(url: string, hash: string): Promise<boolean> {
  try {
    await announceProbe(url, hash, { event: "stopped", timeoutMs: 500 });
    return true;
  } catch {
    return false;
  }
}

function normaliseHash(hex: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) {
    throw new TestkitError("BAD_ARGUMENT", `"${hex}" is not a 20-byte hex info hash`, { context: { hex } });
  }
  return hex.toLowerCase();
}
