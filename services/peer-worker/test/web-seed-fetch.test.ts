import http from "node:http";
import https from "node:https";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebSeedServer, type WebSeedServer } from "@shoal/testkit";
import { BandwidthLimiter } from "../src/bandwidth-limiter.js";
import { PeerWorkerError } from "../src/peer-worker-error.js";
import { fetchRange, type RangeRequest } from "../src/web-seed-fetch.js";

const SIZE = 300_000;
const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 31 + 7) & 0xff;

let dir: string;
let server: WebSeedServer;
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 4 }), https: new https.Agent({ keepAlive: true, maxSockets: 4 }) };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-wsf-"));
  await writeFile(join(dir, "f.bin"), data);
  server = await startWebSeedServer({ root: dir });
});
afterAll(async () => {
  agents.http.destroy();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Fetches into a buffer; resolves with the bytes and the URL that answered. */
async function get(req: Omit<RangeRequest, "fileLength"> & { fileLength?: number }, extra: { idleTimeoutMs?: number; limiter?: BandwidthLimiter } = {}) {
  const out = Buffer.alloc(req.length);
  let last = -1;
  const url = await fetchRange(
    { fileLength: SIZE, ...req },
    {
      agents,
      maxRedirects: 5,
      idleTimeoutMs: extra.idleTimeoutMs ?? 10_000,
      signal: new AbortController().signal,
      ...(extra.limiter ? { limiter: extra.limiter } : {}),
      onData: (offset, chunk) => {
        expect(offset).toBeGreaterThan(last);
        last = offset;
        chunk.copy(out, offset);
      },
    },
  );
  return { out, url };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    expect(err).toBeInstanceOf(PeerWorkerError);
    return (err as PeerWorkerError).code;
  }
}

/** A one-off server answering every request with `fn`. */
async function oddServer(fn: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const s = http.createServer(fn);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/f.bin`, close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}

describe("ranged GETs of a web seed", () => {
  it("fetches a range (206) over reused keep-alive connections", async () => {
    const before = server.stats.connections;
    for (const [offset, length] of [[0, 1000], [12_345, 100_000], [SIZE - 10, 10]] as const) {
      const { out } = await get({ url: `${server.url}f.bin`, fileOffset: offset, length });
      expect(out.equals(data.subarray(offset, offset + length))).toBe(true);
    }
    expect(server.stats.connections - before).toBe(1);
  });

  it("takes a 200 only when the range is the whole file", async () => {
    const whole = await oddServer((_req, res) => {
      res.writeHead(200, { "content-length": String(SIZE) });
      res.end(data);
    });
    try {
      expect((await get({ url: whole.url, fileOffset: 0, length: SIZE })).out.equals(data)).toBe(true);
      expect(await code(get({ url: whole.url, fileOffset: 10, length: 100 }))).toBe("WEB_SEED_BAD_RANGE");
    } finally {
      await whole.close();
    }
  });

  it("refuses a wrong Content-Range, a compressed body and a body longer than the range", async () => {
    const liar = await oddServer((req, res) => {
      if (req.url === "/f.bin?gzip") {
        res.writeHead(206, { "content-range": "bytes 0-9/300000", "content-encoding": "gzip", "content-length": "10" });
        res.end(data.subarray(0, 10));
      } else if (req.url === "/f.bin?long") {
        res.writeHead(206, { "content-range": "bytes 0-9/300000" });
        res.end(data.subarray(0, 5000));
      } else {
        res.writeHead(206, { "content-range": "bytes 5-14/300000", "content-length": "10" });
        res.end(data.subarray(5, 15));
      }
    });
    try {
      expect(await code(get({ url: liar.url, fileOffset: 0, length: 10 }))).toBe("WEB_SEED_BAD_RANGE");
      expect(await code(get({ url: `${liar.url}?gzip`, fileOffset: 0, length: 10 }))).toBe("WEB_SEED_BAD_RANGE");
      expect(await code(get({ url: `${liar.url}?long`, fileOffset: 0, length: 10 }))).toBe("WEB_SEED_LONG_BODY");
    } finally {
      await liar.close();
    }
  });

  it("follows a redirect, refuses a loop, and reports 404 and short bodies", async () => {
    const moved = await get({ url: `${server.movedUrl}f.bin`, fileOffset: 100, length: 50 });
    expect(moved.url).toBe(`${server.url}f.bin`);
    expect(moved.out.equals(data.subarray(100, 150))).toBe(true);
    expect(await code(get({ url: `${server.loopUrl}f.bin`, fileOffset: 0, length: 10 }))).toBe("WEB_SEED_REDIRECT");
    expect(await code(get({ url: `${server.url}nope.bin`, fileOffset: 0, length: 10 }))).toBe("WEB_SEED_STATUS");
    server.faults.shortBodies = true;
    try {
      expect(await code(get({ url: `${server.url}f.bin`, fileOffset: 0, length: 200_000 }))).toMatch(/WEB_SEED_(SHORT_BODY|NETWORK)/);
    } finally {
      server.faults.shortBodies = false;
    }
  });

  it("gives up on a server that stalls", async () => {
    server.faults.bytesPerSecond = 1024;
    try {
      expect(await code(get({ url: `${server.url}f.bin`, fileOffset: 0, length: 200_000 }, { idleTimeoutMs: 300 }))).toBe("WEB_SEED_TIMEOUT");
    } finally {
      server.faults.bytesPerSecond = 0;
    }
  });

  it("counts its bytes against the rate limit and waits while it is spent", async () => {
    const limiter = new BandwidthLimiter(400_000, () => performance.now());
    const started = performance.now();
    await get({ url: `${server.url}f.bin`, fileOffset: 0, length: SIZE }, { limiter });
    // 300 kB at 400 kB/s, less the burst: well over half a second unless the limit was ignored.
    expect(performance.now() - started).toBeGreaterThan(500);
  });
});
