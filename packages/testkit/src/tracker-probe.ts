import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { decodeBencode, isDict } from "./bencode-reader.js";
import { TestkitError } from "./testkit-error.js";

export interface AnnounceProbeOptions {
  readonly event?: "started" | "stopped" | "completed";
  /** Port announced for the probe; nothing should listen there (9 is "discard"). */
  readonly port?: number;
  /** Bytes left; non-zero so the tracker treats the probe as a leecher and returns seeds. */
  readonly left?: number;
  /** Source address of the request; trackers record the connection's address, not a parameter. */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

export interface AnnounceAnswer {
  /** "ip:port" of each peer in the compact IPv4 list. */
  readonly peers: string[];
  readonly failure?: string;
  readonly interval?: number;
}

const PROBE_PORT = 9;
/** A local tracker answers in milliseconds; seconds mean it is not there. */
const DEFAULT_PROBE_TIMEOUT_MS = 3_000;
/** A tracker answer for a test swarm is tiny; more than this is not a tracker. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** One HTTP announce (BEP 3, compact BEP 23) with the given info hash. */
export function announceProbe(announceUrl: string, infoHashHex: string, opts: AnnounceProbeOptions = {}): Promise<AnnounceAnswer> {
  const url = new URL(httpAnnounceUrl(announceUrl));
  // Azureus-style peer id: "-TK0001-" and 12 random bytes, 20 bytes in all.
  const peerId = Buffer.concat([Buffer.from("-TK0001-"), randomBytes(12)]).toString("hex");
  const query = [
    `info_hash=${percentBytes(infoHashHex)}`,
    `peer_id=${percentBytes(peerId)}`,
    `port=${opts.port ?? PROBE_PORT}`,
    "uploaded=0",
    "downloaded=0",
    `left=${opts.left ?? 1}`,
    "compact=1",
    "numwant=200",
    ...(opts.event === undefined ? [] : [`event=${opts.event}`]),
  ].join("&");
  const path = `${url.pathname}${url.search === "" ? "?" : `${url.search}&`}${query}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const fail = (msg: string, cause?: unknown): void =>
      reject(new TestkitError("RPC_FAILED", `announce to ${announceUrl}: ${msg}`, { cause, retryable: true }));
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        timeout: timeoutMs,
        // opentracker closes every connection after its answer; a pooled keep-alive socket
        // would be reused after that close and fail with "socket hang up".
        agent: false,
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer over ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on("end", () => {
          try {
            resolve(parseAnswer(Buffer.concat(chunks), announceUrl));
          } catch (err) {
            fail(`HTTP ${res.statusCode}, unreadable answer`, err);
          }
        });
        res.on("error", (err) => fail(err.message, err));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => fail(err.message, err));
    req.end();
  });
}

/**
 * The peers a tracker lists for a torrent, as "ip:port". The probe announces itself
 * (a leecher on port 9) and leaves again with 'stopped' right away, and is left out of the
 * answer; a downloader announcing in that instant may see it and fail to connect.
 */
export async function trackerPeers(announceUrl: string, infoHashHex: string, opts: { localAddress?: string } = {}): Promise<string[]> {
  const local = opts.localAddress ?? "127.0.0.1";
  const answer = await announceProbe(announceUrl, infoHashHex, { event: "started", localAddress: local });
  await announceProbe(announceUrl, infoHashHex, { event: "stopped", localAddress: local });
  if (answer.failure !== undefined) {
    throw new TestkitError("RPC_FAILED", `tracker ${announceUrl} refused ${infoHashHex}: ${answer.failure}`, {
      context: { announceUrl, infoHashHex },
    });
  }
  return answer.peers.filter((p) => p !== `${local}:${PROBE_PORT}`);
}

/**
 * The HTTP announce URL of a tracker URL. opentracker serves HTTP and UDP on one port, so a
 * udp:// URL of it is probed over HTTP on the same host and port.
 */
export function httpAnnounceUrl(announceUrl: string): string {
  const url = new URL(announceUrl);
  if (url.protocol === "http:") return announceUrl;
  if (url.protocol === "udp:") return `http://${url.host}/announce`;
  throw new TestkitError("BAD_ARGUMENT", `cannot probe tracker URL ${announceUrl} (http or udp only)`, {
    context: { announceUrl },
  });
}

function percentBytes(hex: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) {
    throw new TestkitError("BAD_ARGUMENT", `"${hex}" is not a 20-byte hex hash`, { context: { hex } });
  }
  return hex.replace(/../g, (b) => `%${b}`);
}

function parseAnswer(body: Buffer, source: string): AnnounceAnswer {
  const d = decodeBencode(body, source);
  if (!isDict(d)) throw new TestkitError("BAD_INPUT", `${source}: answer is not a dictionary`);
  const failure = d.entries.get("failure reason");
  if (Buffer.isBuffer(failure)) return { peers: [], failure: failure.toString("utf8") };
  const compact = d.entries.get("peers");
  const peers: string[] = [];
  if (Buffer.isBuffer(compact)) {
    for (let i = 0; i + 6 <= compact.length; i += 6) {
      peers.push(`${compact[i]}.${compact[i + 1]}.${compact[i + 2]}.${compact[i + 3]}:${compact.readUInt16BE(i + 4)}`);
    }
  }
  const interval = d.entries.get("interval");
  return { peers, ...(typeof interval === "bigint" ? { interval: Number(interval) } : {}) };
}
