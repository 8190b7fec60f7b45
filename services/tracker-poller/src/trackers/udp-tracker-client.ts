import dgram from "node:dgram";
import { lookup as dnsLookup } from "node:dns/promises";
import { isIPv4, isIPv6 } from "node:net";
import { systemClock } from "@shoal/service-kit";
import type { Clock, Random } from "@shoal/service-kit";
import {
  ANNOUNCE_MAX_PEERS,
  CONNECTION_ID_TTL_MS,
  TrackerError,
  UDP_MAX_ATTEMPTS,
  UDP_RETRANSMIT_BASE_MS,
  decodeConnectResponse,
  decodeUdpAnnounceResponse,
  decodeUdpScrapeResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
  parseUdpTrackerUrl,
  readUdpResponseHeader,
  udpRetransmitTimeoutMs,
} from "@shoal/tracker-proto";
import type { AnnounceParams, AnnounceResult, ScrapeResult } from "@shoal/tracker-proto";
import { abortError } from "./abort.js";
import type { RequestOptions, TrackerClient } from "./tracker-client.js";

export interface UdpTrackerClientOptions {
  /** BEP 15's 15 s; the wait for attempt n is base * 2^n. */
  readonly baseTimeoutMs?: number;
  /** Sends per request before TIMEOUT (BEP 15: 9). */
  readonly maxAttempts?: number;
  /** Numbers in [0, 1) for transaction ids. */
  readonly random?: Random;
  readonly clock?: Clock;
  /** Resolves a host name to an IPv4 address (default: dns.lookup). */
  readonly lookup?: (host: string) => Promise<string>;
  /** Local address of the shared socket; "0.0.0.0" reaches any tracker, tests use 127.0.0.1. */
  readonly bindAddress?: string;
  /** Peers kept from one response. */
  readonly maxPeers?: number;
}

interface Target {
  readonly address: string;
  readonly port: number;
  readonly urlData: string;
  readonly name: string;
}

/** A request waiting for its answer, keyed by transaction id. */
interface Pending {
  readonly address: string;
  readonly port: number;
  onPacket(bytes: Uint8Array): void;
  reject(err: unknown): void;
}

const TIMED_OUT = Symbol("timed out");

async function defaultLookup(host: string): Promise<string> {
  return (await dnsLookup(host, { family: 4 })).address;
}

/**
 * UDP tracker client (BEP 15, with BEP 41 URL data). One udp4 socket serves every tracker;
 * answers are matched by transaction id and source address, so a third party cannot inject
 * peers without seeing our packets. Connection ids are cached per tracker for 60 s. Every
 * timeout counts as one attempt (connect and announce share the budget, as in BEP 15) and the
 * wait doubles each time; after `maxAttempts` the request fails with TIMEOUT.
 */
export class UdpTrackerClient implements TrackerClient {
  readonly #baseTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #random: Random;
  readonly #clock: Clock;
  readonly #lookup: (host: string) => Promise<string>;
  readonly #bindAddress: string;
  readonly #maxPeers: number;
  readonly #pending = new Map<number, Pending>();
  readonly #connections = new Map<string, { readonly id: bigint; readonly atMs: number }>();
  #socket: Promise<dgram.Socket> | undefined;
  #closed = false;

  constructor(options: UdpTrackerClientOptions = {}) {
    this.#baseTimeoutMs = options.baseTimeoutMs ?? UDP_RETRANSMIT_BASE_MS;
    this.#maxAttempts = options.maxAttempts ?? UDP_MAX_ATTEMPTS;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? systemClock;
    this.#lookup = options.lookup ?? defaultLookup;
    this.#bindAddress = options.bindAddress ?? "0.0.0.0";
    this.#maxPeers = options.maxPeers ?? ANNOUNCE_MAX_PEERS;
  }

  /** Rejects with TrackerError: FAILURE, BAD_RESPONSE, TIMEOUT, NETWORK, INVALID_URL, ABORTED. */
  async announce(url: string, params: AnnounceParams, options: RequestOptions = {}): Promise<AnnounceResult> {
    const target = await this.#resolve(url);
    return this.#request(target, options.signal, (connectionId, transactionId) => ({
      packet: encodeAnnounceRequest({ connectionId, transactionId, params, urlData: target.urlData }),
      decode: (bytes) => decodeUdpAnnounceResponse(bytes, transactionId, { maxPeers: this.#maxPeers }),
    }));
  }

  /** Scrapes up to 74 torrents at once (BEP 15). */
  async scrape(url: string, infoHashes: readonly Uint8Array[], options: RequestOptions = {}): Promise<ScrapeResult> {
    const target = await this.#resolve(url);
    return this.#request(target, options.signal, (connectionId, transactionId) => ({
      packet: encodeScrapeRequest({ connectionId, transactionId, infoHashes }),
      decode: (bytes) => decodeUdpScrapeResponse(bytes, transactionId, infoHashes),
    }));
  }

  /** Fails every request in flight with ABORTED and closes the socket. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing = new TrackerError("ABORTED", "UDP tracker client closed");
    for (const pending of [...this.#pending.values()]) pending.reject(closing);
    const socket = await this.#socket?.catch(() => undefined);
    this.#socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  async #resolve(url: string): Promise<Target> {
    const { host, port, urlData } = parseUdpTrackerUrl(url);
    const name = `udp://${host.includes(":") ? `[${host}]` : host}:${port}`;
    if (isIPv6(host)) {
      throw new TrackerError("NETWORK", `tracker ${name}: IPv6 UDP trackers are not supported (the socket is udp4)`, {
        context: { url: name },
        retryable: false,
      });
    }
    if (isIPv4(host)) return { address: host, port, urlData, name };
    try {
      return { address: await this.#lookup(host), port, urlData, name };
    } catch (err) {
      throw new TrackerError("NETWORK", `tracker ${name}: cannot resolve ${host}: ${(err as Error).message}`, {
        context: { url: name },
        cause: err,
      });
    }
  }

  async #request<T>(
    target: Target,
    signal: AbortSignal | undefined,
    build: (connectionId: bigint, transactionId: number) => { packet: Uint8Array; decode: (bytes: Uint8Array) => T },
  ): Promise<T> {
    const key = `${target.address}:${target.port}`;
    for (let attempt = 0; attempt < this.#maxAttempts; ) {
      const waitMs = udpRetransmitTimeoutMs(attempt, this.#baseTimeoutMs);
      let connectionId = this.#cachedConnection(key);
      if (connectionId === undefined) {
        const connected = await this.#exchange(target, signal, waitMs, (tid) => ({
          packet: encodeConnectRequest(tid),
          decode: (bytes) => decodeConnectResponse(bytes, tid),
        }));
        if (connected === TIMED_OUT) {
          attempt++;
          continue;
        }
        connectionId = connected.connectionId;
        this.#connections.set(key, { id: connectionId, atMs: this.#clock.now() });
      }
      const id = connectionId;
      try {
        const answer = await this.#exchange(target, signal, waitMs, (tid) => build(id, tid));
        if (answer !== TIMED_OUT) return answer;
      } catch (err) {
        // The tracker may have refused the connection id itself; get a fresh one next time.
        if (err instanceof TrackerError && err.code === "FAILURE") this.#connections.delete(key);
        throw err;
      }
      attempt++;
    }
    throw new TrackerError("TIMEOUT", `tracker ${target.name} did not answer ${this.#maxAttempts} attempts`, {
      context: { url: target.name, attempts: this.#maxAttempts },
    });
  }

  #cachedConnection(key: string): bigint | undefined {
    const cached = this.#connections.get(key);
    if (cached === undefined) return undefined;
    if (this.#clock.now() - cached.atMs < CONNECTION_ID_TTL_MS) return cached.id;
    this.#connections.delete(key);
    return undefined;
  }

  /** Sends one packet and waits `waitMs` for the answer with its transaction id from `target`. */
  async #exchange<T>(
    target: Target,
    signal: AbortSignal | undefined,
    waitMs: number,
    build: (transactionId: number) => { packet: Uint8Array; decode: (bytes: Uint8Array) => T },
  ): Promise<T | typeof TIMED_OUT> {
    if (this.#closed) throw new TrackerError("ABORTED", "UDP tracker client closed");
    if (signal?.aborted) throw abortError(signal, `request to ${target.name}`);
    const socket = await this.#openSocket();
    const transactionId = this.#newTransactionId();
    const { packet, decode } = build(transactionId);
    return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
      const finish = (): void => {
        this.#pending.delete(transactionId);
        this.#clock.clearTimer(timer);
        signal?.removeEventListener("abort", onAbort);
        if (this.#pending.size === 0) socket.unref();
      };
      const pending: Pending = {
        address: target.address,
        port: target.port,
        onPacket: (bytes) => {
          finish();
          try {
            resolve(decode(bytes));
          } catch (err) {
            reject(err);
          }
        },
        reject: (err) => {
          finish();
          reject(err);
        },
      };
      const onAbort = (): void => pending.reject(abortError(signal!, `request to ${target.name}`));
      const timer = this.#clock.setTimeout(() => {
        finish();
        resolve(TIMED_OUT);
      }, waitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(transactionId, pending);
      // Keep the process alive while an answer is awaited; the idle socket must not.
      socket.ref();
      socket.send(packet, target.port, target.address, (err) => {
        if (err) {
          pending.reject(new TrackerError("NETWORK", `tracker ${target.name}: send failed: ${err.message}`, {
            context: { url: target.name },
            cause: err,
          }));
        }
      });
    });
  }

  #newTransactionId(): number {
    let id = Math.floor(this.#random() * 0x1_0000_0000) >>> 0;
    // A clash with a request in flight (or a stuck random source) walks to the next free id.
    while (this.#pending.has(id)) id = (id + 1) >>> 0;
    return id;
  }

  #openSocket(): Promise<dgram.Socket> {
    this.#socket ??= new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket("udp4");
      socket.on("message", (msg, rinfo) => this.#onMessage(msg, rinfo));
      socket.on("error", (err) => {
        reject(new TrackerError("NETWORK", `UDP tracker socket failed: ${err.message}`, { cause: err }));
        this.#onSocketError(socket, err);
      });
      socket.bind(0, this.#bindAddress, () => {
        socket.unref();
        resolve(socket);
      });
    });
    return this.#socket;
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    const header = readUdpResponseHeader(bytes);
    if (header === undefined) return;
    const pending = this.#pending.get(header.transactionId);
    // Answers from anywhere but the tracker we asked are dropped: that is the only guard
    // against forged peer lists from off-path senders guessing transaction ids.
    if (pending === undefined || pending.address !== rinfo.address || pending.port !== rinfo.port) return;
    pending.onPacket(bytes);
  }

  #onSocketError(socket: dgram.Socket, err: Error): void {
    const failure = new TrackerError("NETWORK", `UDP tracker socket failed: ${err.message}`, { cause: err });
    for (const pending of [...this.#pending.values()]) pending.reject(failure);
    this.#socket = undefined;
    try {
      socket.close();
    } catch {
      // Already closed by an earlier error; nothing is left to release.
    }
  }
}
