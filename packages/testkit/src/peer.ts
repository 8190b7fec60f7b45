import { mkdtemp, rm } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import type { ManagedProcess } from "./managed-process.js";
import type { NetworkPlacement } from "./network-placement.js";
import { TestkitError } from "./testkit-error.js";
import { announceHashes } from "./torrent-file.js";
import type { TorrentSummary } from "./torrent-file.js";
import { announceProbe, trackerPeers } from "./tracker-probe.js";
import { waitFor } from "./wait-for.js";

/** A BitTorrent peer process the testkit started. */
export interface Peer {
  readonly ip: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves once the peer is seeding (or, as a leecher, running) and the tracker lists it. */
  readonly ready: Promise<void>;
  /**
   * SIGTERM to its process group (a clean shutdown), SIGKILL after a grace period, then a
   * 'stopped' announce on its behalf so the tracker forgets it; removes its work dir and log.
   */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would (the tracker keeps listing it); call stop() later to clean up. */
  kill9(): void;
  /** The child's stdout and stderr. */
  readonly logPath: string;
}

export interface SeedOptions {
  readonly torrentPath: string;
  /** The parent directory of the payload root (the torrent's name lives inside it). */
  readonly dataDir: string;
  /** Any 127.x.y.z; default 127.0.0.1. A peer on its own address can be banned alone. */
  readonly ip?: string;
  /** Default: a free port on `ip`. */
  readonly port?: number;
  /** Bytes per second; 0 or absent means unlimited. */
  readonly uploadRateLimit?: number;
  /** Deadline for `ready`. */
  readonly readyTimeoutMs?: number;
  /**
   * Run in a lab namespace (`startNetnsLab`) on its lab address (`ip` is then that address);
   * the torrent's tracker must run in the same namespace. libtorrent seeds only.
   */
  readonly placement?: NetworkPlacement;
}

/** Hash-checking a few MiB and one announce take well under a second; slow CI gets headroom. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

export async function peerAddress(opts: { ip?: string; port?: number; placement?: NetworkPlacement }): Promise<{ ip: string; port: number }> {
  if (opts.placement !== undefined) {
    const ip = opts.placement.address;
    if (opts.ip !== undefined && opts.ip !== ip) {
      throw new TestkitError("BAD_ARGUMENT", `peer address ${opts.ip} is not its lab namespace's address ${ip}`, { context: { ip: opts.ip } });
    }
    // Any port is free in a namespace of its own; one free here is as good as any.
    return { ip, port: opts.port ?? (await freePort("127.0.0.1")) };
  }
  const ip = opts.ip ?? "127.0.0.1";
  if (isIP(ip) !== 4 || !ip.startsWith("127.")) {
    throw new TestkitError("BAD_ARGUMENT", `peer address ${ip} is not in 127.0.0.0/8 (tests stay on loopback)`, {
      context: { ip },
    });
  }
  return { ip, port: opts.port ?? (await freePort(ip)) };
}

export function makeWorkDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `shoal-${prefix}-`));
}

/** The tracker URL readiness is checked against: the first http or udp URL of the torrent. */
export function probeTracker(t: TorrentSummary): string | undefined {
  return t.announceTiers.flat().find((u) => u.startsWith("http://") || u.startsWith("udp://"));
}

export interface ReadinessOptions {
  readonly proc: ManagedProcess;
  readonly torrent: TorrentSummary;
  readonly ip: string;
  readonly port: number;
  readonly timeoutMs: number;
  /** The client's own notion of "seeding" (or of "running" for a leecher). */
  readonly clientReady: () => Promise<boolean>;
  /** Extra text for a timeout error (the client's state). */
  readonly describe?: () => Promise<string>;
  /** The peer and its tracker run in this lab namespace: the tracker is probed through a forward. */
  readonly placement?: NetworkPlacement;
}

/**
 * Waits for the client to be ready and for the tracker to list ip:port. The returned promise
 * is marked handled, so a test that never awaits it does not crash on an unhandled rejection;
 * awaiting it still throws.
 */
export function awaitReadiness(o: ReadinessOptions): Promise<void> {
  const announced = probeTracker(o.torrent);
  const self = `${o.ip}:${o.port}`;
  let tracker = announced;
  let clientDone = false;
  let lastProbe = "not probed yet";
  const ready = waitFor(
    async () => {
      o.proc.assertRunning("becoming ready");
      if (!clientDone) clientDone = await o.clientReady();
      if (!clientDone) return false;
      if (tracker === undefined) return true;
      try {
        if (o.placement !== undefined && tracker === announced) {
          const url = new URL(tracker);
          url.hostname = "127.0.0.1";
          url.port = String(await o.placement.reach(Number(url.port)));
          tracker = url.toString();
        }
        const listed = await trackerPeers(tracker, o.torrent.infoHashHex);
        lastProbe = `tracker lists [${listed.join(", ")}]`;
        return listed.includes(self);
      } catch (err) {
        // A tracker that is not up yet or refuses the hash: keep waiting, report it at the deadline.
        lastProbe = `tracker probe failed: ${String(err)}`;
        return false;
      }
    },
    {
      timeoutMs: o.timeoutMs,
      intervalMs: 100,
      what: `${o.proc.name} to be ready${tracker === undefined ? "" : ` and listed by ${tracker}`}`,
      describe: async () =>
        `client ready: ${clientDone}; ${lastProbe}${o.describe ? `; ${await o.describe()}` : ""}\nlog ${o.proc.logPath}:\n${o.proc.logTail()}`,
    },
  );
  ready.catch(() => undefined);
  return ready;
}

/** A 'stopped' announce on a peer's behalf is best effort; the tracker is local. */
const STOPPED_ANNOUNCE_TIMEOUT_MS = 1_000;

export function makePeer(p: {
  ip: string;
  port: number;
  proc: ManagedProcess;
  ready: Promise<void>;
  workDir: string;
  torrent: TorrentSummary;
}): Peer {
  const tracker = probeTracker(p.torrent);
  return {
    ip: p.ip,
    port: p.port,
    pid: p.proc.pid,
    ready: p.ready,
    logPath: p.proc.logPath,
    kill9: () => p.proc.kill9(),
    async stop() {
      await p.proc.stop();
      // transmission-daemon and aria2c exit on SIGTERM without a 'stopped' announce that
      // reaches the tracker. opentracker keys peers by address and port, so the same
      // announce sent from the peer's address takes it off the list, as a clean stop should.
      if (tracker !== undefined) {
        for (const hash of announceHashes(p.torrent)) {
          await announceProbe(tracker, hash, {
            event: "stopped",
            port: p.port,
            localAddress: p.ip,
            timeoutMs: STOPPED_ANNOUNCE_TIMEOUT_MS,
          }).catch(() => undefined);
        }
      }
      await rm(p.workDir, { recursive: true, force: true });
    },
  };
}
