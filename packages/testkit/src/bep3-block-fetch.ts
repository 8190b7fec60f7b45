import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { TestkitError } from "./testkit-error.js";

export interface BlockRequest {
  readonly piece: number;
  readonly begin: number;
  readonly length: number;
}

export interface FetchBlocksOptions {
  readonly ip: string;
  readonly port: number;
  readonly infoHashHex: string;
  readonly requests: readonly BlockRequest[];
  readonly timeoutMs?: number;
  /** Source address, so the peer sees a connection from an address of the test's choice. */
  readonly localAddress?: string;
}

const PSTR = Buffer.from("BitTorrent protocol");
const HANDSHAKE_BYTES = 68;
/** A local peer answers a handful of blocks in milliseconds. */
const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
/** Anything larger than a 128 KiB block plus its header is not an answer we asked for. */
const MAX_MESSAGE_BYTES = 128 * 1024 + 13;

const MSG = { choke: 0, unchoke: 1, interested: 2, request: 6, piece: 7 } as const;

/**
 * Downloads raw blocks from a peer over the BEP 3 wire protocol, without checking them: a
 * minimal leecher to look at exactly what a (possibly hostile) seed sends. It handshakes, says
 * interested once the peer's handshake arrived, waits for unchoke, sends every request at once,
 * and returns the blocks in request order.
 */
export function fetchBlocks(opts: FetchBlocksOptions): Promise<Buffer[]> {
  const infoHash = Buffer.from(opts.infoHashHex, "hex");
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const where = `${opts.ip}:${opts.port}`;
  return new Promise((resolve, reject) => {
    const sock = connect({
      host: opts.ip,
      port: opts.port,
      ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
    });
    const results = new Map<string, Buffer>();
    const key = (piece: number, begin: number): string => `${piece}:${begin}`;
    let buf = Buffer.alloc(0);
    let shook = false;
    let requested = false;
    let settled = false;
    const timer = setTimeout(() => fail(`only ${results.size} of ${opts.requests.length} blocks within ${timeoutMs} ms`), timeoutMs);
    const done = (err?: TestkitError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(opts.requests.map((r) => results.get(key(r.piece, r.begin)) ?? Buffer.alloc(0)));
    };
    const fail = (msg: string): void =>
      done(new TestkitError("RPC_FAILED", `fetching blocks from ${where}: ${msg}`, { context: { peer: where } }));

    sock.on("connect", () => {
      const peerId = Buffer.concat([Buffer.from("-TK0001-"), randomBytes(12)]);
      sock.write(Buffer.concat([Buffer.from([PSTR.length]), PSTR, Buffer.alloc(8), infoHash, peerId]));
    });
    sock.on("error", (err) => fail(err.message));
    sock.on("close", () => {
      if (results.size < opts.requests.length) fail(`connection closed after ${results.size} blocks`);
    });
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!shook) {
        if (buf.length < HANDSHAKE_BYTES) return;
        if (!buf.subarray(28, 48).equals(infoHash)) return fail(`handshake for another torrent ${buf.subarray(28, 48).toString("hex")}`);
        buf = buf.subarray(HANDSHAKE_BYTES);
        shook = true;
        // Only now: aria2 drops (and bans) a peer whose first bytes hold more than the handshake.
        sock.write(message(MSG.interested, Buffer.alloc(0)));
      }
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > MAX_MESSAGE_BYTES) return fail(`message of ${len} bytes`);
        if (buf.length < 4 + len) return;
        const body = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        if (len === 0) continue;
        if (body[0] === MSG.unchoke && !requested) {
          requested = true;
          for (const r of opts.requests) {
            const payload = Buffer.alloc(12);
            payload.writeUInt32BE(r.piece, 0);
            payload.writeUInt32BE(r.begin, 4);
            payload.writeUInt32BE(r.length, 8);
            sock.write(message(MSG.request, payload));
          }
        } else if (body[0] === MSG.piece && body.length >= 9) {
          results.set(key(body.readUInt32BE(1), body.readUInt32BE(5)), Buffer.from(body.subarray(9)));
          if (results.size === opts.requests.length) return done();
        }
      }
    });
  });
}

function message(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + payload.length, 0);
  head[4] = id;
  return Buffer.concat([head, payload]);
}
