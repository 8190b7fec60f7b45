/**
 * Test helpers for the tracker clients: a real opentracker on free loopback ports, fake UDP and
 * HTTP trackers, a manual clock, and waiting on conditions with a deadline.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock, TimerHandle } from "@shoal/service-kit";
import { encodeCompactPeers } from "@shoal/tracker-proto";
import type { Peer } from "@shoal/tracker-proto";

export const LOOPBACK = "127.0.0.1";

/** Waits until `check` returns true, checking after every macrotask turn, or fails at the deadline. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function listenTcp(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, LOOPBACK, () => resolve(server));
  });
}

function bindUdp(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => resolve(undefined));
    socket.bind(port, LOOPBACK, () => resolve(socket));
  });
}

/** A loopback port that is free for both TCP and UDP (opentracker listens on both). */
export async function freeTcpUdpPort(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const server = await listenTcp(0);
    if (!server) continue;
    const port = (server.address() as net.AddressInfo).port;
    const socket = await bindUdp(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (socket) {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      return port;
    }
  }
  throw new Error("no free TCP+UDP port on loopback after 20 tries");
}

export interface Opentracker {
  readonly port: number;
  readonly httpUrl: string;
  readonly udpUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's opentracker (built with a whitelist) serving the given info hashes on
 * 127.0.0.1, and waits until its TCP port accepts connections.
 */
export async function startOpentracker(infoHashesHex: readonly string[]): Promise<Opentracker> {
  const dir = mkdtempSync(join(tmpdir(), "shoal-trackers-test-"));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "whitelist.txt"), infoHashesHex.map((h) => h + "\n").join(""));
  chmodSync(join(dir, "whitelist.txt"), 0o644);
  const port = await freeTcpUdpPort();
  const args = ["-i", LOOPBACK, "-p", String(port), "-P", String(port), "-d", dir, "-u", "nobody", "-w", "whitelist.txt"];
  const child = spawn("opentracker", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  let exited = false;
  let spawnError: Error | undefined;
  child.once("exit", () => (exited = true));
  child.once("error", (err) => {
    spawnError = err;
    exited = true;
  });
  const stop = async (): Promise<void> => {
    await killChild(child, () => exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(async () => {
      if (exited) throw new Error(`opentracker exited early: ${spawnError?.message ?? output}`);
      return (await canConnect(port)) && (infoHashesHex.length === 0 || (await servesTorrent(port, infoHashesHex[0]!)));
    }, "opentracker to listen and load its whitelist");
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, httpUrl: `http://${LOOPBACK}:${port}/announce`, udpUrl: `udp://${LOOPBACK}:${port}/announce`, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, LOOPBACK);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * opentracker accepts connections before it has read its whitelist, and refuses every torrent
 * until then. Only a real announce is checked against the whitelist (a `stopped` one never is),
 * so the probe announces a throwaway peer and removes it again with `stopped`.
 */
async function servesTorrent(port: number, infoHashHex: string): Promise<boolean> {
  const hash = infoHashHex.replace(/../g, "%$&");
  const base = `http://${LOOPBACK}:${port}/announce?info_hash=${hash}&peer_id=-PROBE-0000000000000&port=1&uploaded=0&downloaded=0&left=0&compact=1`;
  const served = await httpAnswerHasNoFailure(base);
  if (served) await httpAnswerHasNoFailure(`${base}&event=stopped`);
  return served;
}

function httpAnswerHasNoFailure(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString("latin1")));
        res.on("end", () => resolve(res.statusCode === 200 && !body.includes("failure reason")));
        res.on("error", () => resolve(false));
      })
      .on("error", () => resolve(false));
  });
}

async function killChild(child: ChildProcess, exited: () => boolean): Promise<void> {
  if (exited()) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await gone;
  clearTimeout(timer);
}

/** A parsed UDP tracker request as a fake tracker sees it. */
export interface UdpRequest {
  readonly connectionId: bigint;
  readonly action: number;
  readonly transactionId: number;
  readonly bytes: Uint8Array;
  readonly from: dgram.RemoteInfo;
}

export interface FakeUdpTracker {
  readonly port: number;
  readonly url: string;
  readonly requests: UdpRequest[];
  readonly socket: dgram.Socket;
  count(action: number): number;
  close(): Promise<void>;
}

/**
 * A fake UDP tracker on loopback. `respond` sees each request and returns the answer to send
 * (or undefined to drop it).
 */
export async function startFakeUdpTracker(
  respond: (request: UdpRequest, index: number) => Uint8Array | undefined,
): Promise<FakeUdpTracker> {
  const socket = (await bindUdp(0))!;
  const port = (socket.address() as net.AddressInfo).port;
  const requests: UdpRequest[] = [];
  socket.on("message", (msg, from) => {
    if (msg.length < 16) return;
    const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const request: UdpRequest = {
      connectionId: view.getBigUint64(0),
      action: view.getUint32(8),
      transactionId: view.getUint32(12),
      bytes: new Uint8Array(msg),
      from,
    };
    requests.push(request);
    const answer = respond(request, requests.length - 1);
    if (answer) socket.send(answer, from.port, from.address);
  });
  return {
    port,
    url: `udp://${LOOPBACK}:${port}/announce`,
    requests,
    socket,
    count: (action) => requests.filter((r) => r.action === action).length,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export function connectAnswer(transactionId: number, connectionId: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0);
  view.setUint32(4, transactionId);
  view.setBigUint64(8, connectionId);
  return out;
}

export function announceAnswer(transactionId: number, peers: readonly Peer[], intervalS = 1800): Uint8Array {
  const compact = encodeCompactPeers(peers);
  const out = new Uint8Array(20 + compact.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1);
  view.setUint32(4, transactionId);
  view.setUint32(8, intervalS);
  view.setUint32(12, 0);
  view.setUint32(16, peers.length);
  out.set(compact, 20);
  return out;
}

/** Answers connect with `connectionId` and announce with `peers`: a well-behaved UDP tracker. */
export function wellBehaved(peers: readonly Peer[], connectionId = 0x1122334455667788n) {
  return (request: UdpRequest): Uint8Array | undefined => {
    if (request.action === 0) return connectAnswer(request.transactionId, connectionId);
    if (request.action === 1) return announceAnswer(request.transactionId, peers);
    return undefined;
  };
}

export interface FakeHttpServer {
  readonly port: number;
  readonly base: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** A plain HTTP server on loopback with a test-supplied handler; records request URLs. */
export async function startHttpServer(handler: http.RequestListener): Promise<FakeHttpServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    base: `http://${LOOPBACK}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A clock whose time only moves when told to. Timers fire from `advance`, in time order, so a
 * test decides exactly when re-announces and timeouts happen.
 */
export class ManualClock implements Clock {
  #now = 0;
  #nextId = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  setInterval(): TimerHandle {
    throw new Error("ManualClock has no setInterval; the tracker code does not use it");
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle.id as number);
  }

  /** Pending timers' due times, soonest first. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }
}

/** A clock with real timers whose `now` the test sets (for TTLs without waiting a minute). */
export class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return performance.now() + this.offsetMs;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return { id: setTimeout(fn, ms) };
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return { id: setInterval(fn, ms) };
  }
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle.id as NodeJS.Timeout);
  }
}

export function infoHashOf(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

export function peerIdOf(tag: string): Uint8Array {
  return new TextEncoder().encode(`-SH0001-${tag.padEnd(12, "x")}`.slice(0, 20));
}
