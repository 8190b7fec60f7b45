import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { TrackerError } from "@shoal/tracker-proto";
import type { AnnounceParams } from "@shoal/tracker-proto";
import { HttpTrackerClient } from "../src/trackers/index.js";
import { LOOPBACK, infoHashOf, peerIdOf, startHttpServer, startOpentracker } from "./trackers-helpers.js";
import type { FakeHttpServer, Opentracker } from "./trackers-helpers.js";

const HASH_HEX = "5ba1e5ba1e5ba1e5ba1e5ba1e5ba1e5ba1e5ba1e";
const infoHash = infoHashOf(HASH_HEX);

function params(tag: string, port: number, extra: Partial<AnnounceParams> = {}): AnnounceParams {
  return { infoHash, peerId: peerIdOf(tag), port, uploaded: 0, downloaded: 0, left: 1000, numwant: 50, ...extra };
}

async function rejection(promise: Promise<unknown>): Promise<TrackerError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TrackerError);
    return err as TrackerError;
  }
  throw new Error("expected the request to fail");
}

describe("HttpTrackerClient against opentracker", () => {
  let tracker: Opentracker;
  const client = new HttpTrackerClient({ timeoutMs: 5000 });

  beforeAll(async () => {
    tracker = await startOpentracker([HASH_HEX]);
  });
  afterAll(async () => {
    await tracker?.stop();
  });

  it("hands two announcing peers each other's compact address, and stopped removes one", async () => {
    const first = await client.announce(tracker.httpUrl, params("a", 40001, { event: "started" }));
    expect(first.interval).toBeGreaterThanOrEqual(30);
    const second = await client.announce(tracker.httpUrl, params("b", 40002, { event: "started" }));
    expect(second.peers).toContainEqual({ ip: LOOPBACK, port: 40001 });
    expect(second.incomplete).toBe(2);
    const again = await client.announce(tracker.httpUrl, params("a", 40001));
    expect(again.peers).toContainEqual({ ip: LOOPBACK, port: 40002 });

    await client.announce(tracker.httpUrl, params("b", 40002, { event: "stopped", numwant: 0 }));
    const after = await client.announce(tracker.httpUrl, params("a", 40001));
    expect(after.peers).not.toContainEqual({ ip: LOOPBACK, port: 40002 });
  });

  it("scrapes the swarm counters", async () => {
    await client.announce(tracker.httpUrl, params("seed", 40003, { event: "started", left: 0 }));
    const scrape = await client.scrape(tracker.httpUrl, [infoHash]);
    expect(scrape.files.get(HASH_HEX)?.complete).toBeGreaterThanOrEqual(1);
  });

  it("reports the failure reason of a torrent the tracker does not serve", async () => {
    const err = await rejection(client.announce(tracker.httpUrl, { ...params("c", 40004), infoHash: new Uint8Array(20).fill(0xee) }));
    expect(err.code).toBe("FAILURE");
    expect(err.retryable).toBe(false);
    expect(String(err.context["reason"])).toMatch(/not authorized/);
  });
});

describe("HttpTrackerClient against misbehaving servers", () => {
  const servers: FakeHttpServer[] = [];
  const serve = async (handler: Parameters<typeof startHttpServer>[0]) => {
    const server = await startHttpServer(handler);
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it("returns a warning message with the peers", async () => {
    const server = await serve((_req, res) => res.end(encode({ interval: 900, peers: "", "warning message": "slow down" })));
    const result = await new HttpTrackerClient().announce(`${server.base}/announce`, params("w", 1));
    expect(result.warning).toBe("slow down");
    expect(result.interval).toBe(900);
  });

  it("keeps the query of the announce URL and sends the tracker id back", async () => {
    const server = await serve((_req, res) => res.end(encode({ interval: 900, peers: "" })));
    await new HttpTrackerClient().announce(`${server.base}/announce?passkey=s3cret`, params("q", 1, { trackerId: Uint8Array.of(1, 2) }));
    expect(server.requests[0]).toMatch(/^\/announce\?passkey=s3cret&info_hash=/);
    expect(server.requests[0]).toContain("trackerid=%01%02");
    expect(server.requests[0]).not.toContain("event=");
  });

  it("follows relative and absolute redirects", async () => {
    const server = await serve((req, res) => {
      if (req.url!.startsWith("/one")) res.writeHead(301, { location: req.url!.replace("/one", "/two") }).end();
      else if (req.url!.startsWith("/two")) res.writeHead(307, { location: `http://${LOOPBACK}:${server.port}${req.url!.replace("/two", "/announce")}` }).end();
      else res.end(encode({ interval: 60, peers: Uint8Array.of(10, 0, 0, 1, 0x1a, 0xe1) }));
    });
    const result = await new HttpTrackerClient().announce(`${server.base}/one`, params("r", 1));
    expect(result.peers).toEqual([{ ip: "10.0.0.1", port: 6881 }]);
    expect(server.requests.map((u) => u.split("?")[0])).toEqual(["/one", "/two", "/announce"]);
  });

  it("fails a redirect loop with TOO_MANY_REDIRECTS after 5 redirects", async () => {
    const server = await serve((req, res) => res.writeHead(302, { location: req.url! }).end());
    const err = await rejection(new HttpTrackerClient().announce(`${server.base}/loop`, params("l", 1)));
    expect(err.code).toBe("TOO_MANY_REDIRECTS");
    expect(server.requests).toHaveLength(6);
  });

  it("refuses a redirect to a non-HTTP scheme", async () => {
    const server = await serve((_req, res) => res.writeHead(302, { location: "ftp://example.com/announce" }).end());
    expect((await rejection(new HttpTrackerClient().announce(`${server.base}/a`, params("s", 1)))).code).toBe("UNSUPPORTED_SCHEME");
  });

  it("aborts a body larger than the cap as soon as it is exceeded", async () => {
    let wrote = 0;
    let closedEarly = false;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const server = await serve((_req, res) => {
      res.on("close", () => (closedEarly = wrote < 16 * 1024 * 1024));
      const pump = (): void => {
        while (wrote < 16 * 1024 * 1024 && !res.destroyed) {
          wrote += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const err = await rejection(new HttpTrackerClient().announce(`${server.base}/announce`, params("big", 1)));
    expect(err.code).toBe("TOO_LARGE");
    await expect.poll(() => closedEarly).toBe(true);
  });

  it("rejects a declared Content-Length over the cap before reading", async () => {
    const server = await serve((_req, res) => res.writeHead(200, { "content-length": String(2 * 1024 * 1024) }).write("d"));
    const err = await rejection(new HttpTrackerClient().announce(`${server.base}/announce`, params("cl", 1)));
    expect(err.code).toBe("TOO_LARGE");
  });

  it("honours a smaller configured cap", async () => {
    const server = await serve((_req, res) => res.end(encode({ interval: 60, peers: new Uint8Array(600) })));
    const err = await rejection(new HttpTrackerClient({ maxResponseBytes: 100 }).announce(`${server.base}/announce`, params("cap", 1)));
    expect(err.code).toBe("TOO_LARGE");
  });

  it("maps non-200 statuses to HTTP_STATUS, retryable only for 5xx", async () => {
    const server = await serve((req, res) => res.writeHead(req.url!.startsWith("/busy") ? 503 : 404).end("nope"));
    const busy = await rejection(new HttpTrackerClient().announce(`${server.base}/busy`, params("s1", 1)));
    expect(busy).toMatchObject({ code: "HTTP_STATUS", retryable: true, context: { status: 503 } });
    const missing = await rejection(new HttpTrackerClient().announce(`${server.base}/gone`, params("s2", 1)));
    expect(missing).toMatchObject({ code: "HTTP_STATUS", retryable: false, context: { status: 404 } });
  });

  it("times out a tracker that never answers", async () => {
    const server = await serve(() => undefined);
    const err = await rejection(new HttpTrackerClient({ timeoutMs: 200 }).announce(`${server.base}/announce`, params("t", 1)));
    expect(err).toMatchObject({ code: "TIMEOUT", retryable: true });
    expect(err.message).not.toContain("info_hash");
  });

  it("rejects with the abort reason when the caller cancels", async () => {
    const server = await serve(() => undefined);
    const controller = new AbortController();
    const pending = new HttpTrackerClient().announce(`${server.base}/announce`, params("x", 1), { signal: controller.signal });
    await expect.poll(() => server.requests.length).toBe(1);
    controller.abort();
    expect((await rejection(pending)).code).toBe("ABORTED");
  });

  it("reports a refused connection as a retryable NETWORK error", async () => {
    const server = await serve(() => undefined);
    const url = `${server.base}/announce`;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    expect(await rejection(new HttpTrackerClient().announce(url, params("n", 1)))).toMatchObject({ code: "NETWORK", retryable: true });
  });

  it("rejects a body that is not bencode as BAD_RESPONSE", async () => {
    const server = await serve((_req, res) => res.end("<html>maintenance</html>"));
    expect((await rejection(new HttpTrackerClient().announce(`${server.base}/announce`, params("h", 1)))).code).toBe("BAD_RESPONSE");
  });
});
